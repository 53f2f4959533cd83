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
	"github.com/edgeagent/edgeagent/internal/users"
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
	// What the V2 operations share with the supervisor actions of /api/v1.
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

// ErrNoPrinter is a printer tag the line does not have (Config.TestPrint
// wraps it, naming the tag).
var ErrNoPrinter = errors.New("no such printer on this line")

// agentRefusal maps an error of an /api/v1 action to its status and the
// message the client reads. The rule of /api/v1: 400 a request that breaks
// a rule, 401 a credential not accepted, 404 a thing the line does not know
// (the message names it), 409 a state that does not allow the act, 429 a
// person locked out; the V2 mapping (refusal) for the rest. It reports
// false for an error that is no refusal: a fault of the agent (500).
func agentRefusal(err error) (int, string, bool) {
	var (
		ae     *accessError
		rf     *v2.Refusal
		in     *users.InputError
		locked *users.LockedError
		qse    *queue.StateError
		nf     *ledger.SerialNotFoundError
		open   *orders.OpenLabelsError
	)
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg, true
	case errors.As(err, &rf):
		return rf.Status, rf.Body.Message, true
	case errors.Is(err, ErrNoPrinter), errors.Is(err, users.ErrNoUser), errors.Is(err, users.ErrNoDevice),
		errors.Is(err, orders.ErrPackagingOrderNotFound), errors.Is(err, ledger.ErrProductNotFound), errors.As(err, &nf),
		errors.Is(err, orders.ErrNotReconciled):
		return http.StatusNotFound, err.Error(), true
	case errors.As(err, &in), errors.Is(err, queue.ErrReasonRequired), errors.Is(err, orders.ErrCloseReason):
		return http.StatusBadRequest, err.Error(), true
	case errors.As(err, &qse), errors.Is(err, users.ErrExists), errors.Is(err, users.ErrLastAdmin), errors.Is(err, users.ErrPINTaken),
		errors.As(err, &open):
		return http.StatusConflict, err.Error(), true
	case errors.As(err, &locked):
		return http.StatusTooManyRequests, err.Error(), true
	case errors.Is(err, users.ErrBadSignOn), errors.Is(err, users.ErrBadCredentials):
		return http.StatusUnauthorized, err.Error(), true
	}
	if rf, ok := refusal(err); ok {
		return rf.Status, rf.Body.Message, true
	}
	return 0, "", false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
