package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// refusal maps a domain error to the V2 dialect's status and answer: the
// documented message where the service has one. It reports false for an
// error that is not a refusal (a fault of the agent).
func refusal(err error) (*v2.Refusal, bool) {
	var (
		fes  v2.FieldErrors
		rf   *v2.Refusal
		fe   *v2.FieldError
		nf   *ledger.SerialNotFoundError
		sse  *ledger.SerialStateError
		ice  *containers.InContainerError
		nie  *containers.NotInError
		lme  *containers.LabelMismatchError
		me   *orders.MarketError
		ose  *orders.StateError
		lse  *ledger.LabelStateError
		cse  *containers.StateError
		ope  *containers.OnPalletError
		ite  *containers.ItemError
		sfe  *containers.StateFilterError
		busy *stations.BusyError
		ree  *shipments.RequestedElsewhereError
	)
	var ae *accessError
	switch {
	case errors.As(err, &ae):
		return v2.Refuse(ae.status, ae.msg), true
	case errors.As(err, &rf):
		return rf, true
	case errors.As(err, &fes):
		return v2.Validation(fes), true
	case errors.As(err, &fe):
		return v2.Validation(fe), true
	case errors.As(err, &me):
		return v2.Validation(&v2.FieldError{Field: me.Field, Rule: fmt.Sprintf("the product is registered for market %s", me.Market)}), true
	case errors.Is(err, ledger.ErrProductNotFound):
		return v2.RefuseProduct, true
	case errors.Is(err, ledger.ErrBatchNotFound):
		return v2.Refuse(http.StatusNotFound, v2.MsgBatchNotFound), true
	case errors.Is(err, orders.ErrTemplateNotFound):
		return v2.Refuse(http.StatusNotFound, v2.MsgTemplateMissing), true
	case errors.Is(err, orders.ErrDestinationNotFound):
		return v2.Refuse(http.StatusNotFound, v2.MsgDestinationAbsent), true
	case errors.Is(err, orders.ErrLabelOrderExists):
		return v2.Refuse(http.StatusConflict, v2.MsgLabelOrderExists), true
	case errors.Is(err, ledger.ErrNoSerials):
		return v2.Refuse(http.StatusConflict, v2.MsgNoSerialsAssigned), true
	case errors.Is(err, orders.ErrPackagingOrderExists):
		return v2.Refuse(http.StatusConflict, "Packaging order already exists!"), true
	case errors.Is(err, orders.ErrPackagingOrderNotFound):
		return v2.Refuse(http.StatusNotFound, "Packaging order not found"), true
	case errors.As(err, &nf):
		return v2.Refuse(http.StatusNotFound, fmt.Sprintf("Serial %s not found", nf.Serial)), true
	case errors.As(err, &sse) && sse.State == ledger.SerialDecommissioned:
		return v2.Refuse(http.StatusConflict, fmt.Sprintf("Serial %s is already Decommissioned", sse.Serial)), true
	case errors.As(err, &sse) && sse.State == ledger.SerialCommissioned && sse.Act == "commissioned":
		return v2.Refuse(http.StatusConflict, fmt.Sprintf("Serial %s is already Commissioned", sse.Serial)), true
	case errors.As(err, &sse):
		return v2.Refuse(http.StatusConflict, fmt.Sprintf("Serial %s is %s: only printed serials are %s", sse.Serial, sse.State, sse.Act)), true
	case errors.As(err, &ice):
		return v2.Refuse(http.StatusConflict, fmt.Sprintf("%s is already aggregated in %s", upperFirst(ice.Item), ice.Container)), true
	case errors.As(err, &nie):
		return v2.Refuse(http.StatusConflict, fmt.Sprintf("%s is not in container %s", upperFirst(nie.Item), nie.Parent)), true
	case errors.As(err, &lme):
		return v2.Validation(&v2.FieldError{Field: lme.Field, Rule: lme.Error()}), true
	case store.IsDiskFull(err):
		return v2.Refuse(http.StatusServiceUnavailable, "The line PC's disk is full: nothing was stored. Free space and send again."), true
	// The supervisor actions of /api/v1.
	case errors.Is(err, ledger.ErrLabelNotFound), errors.Is(err, orders.ErrLabelOrderNotFound), errors.Is(err, containers.ErrNotFound),
		errors.Is(err, containers.ErrNotInContainer), errors.Is(err, queue.ErrNotFound):
		return v2.Refuse(http.StatusNotFound, err.Error()), true
	case errors.Is(err, ledger.ErrReasonRequired), errors.Is(err, containers.ErrReasonRequired), errors.As(err, &ite), errors.As(err, &sfe):
		return v2.Refuse(http.StatusBadRequest, err.Error()), true
	case errors.As(err, &lse), errors.As(err, &ose), errors.As(err, &cse), errors.As(err, &ope), errors.As(err, &busy),
		errors.As(err, &ree):
		return v2.Refuse(http.StatusConflict, err.Error()), true
	}
	return nil, false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
