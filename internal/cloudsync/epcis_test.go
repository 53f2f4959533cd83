package cloudsync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
)

// journal is what the line's EPCIS journal writes for n packs: each
// commissioned, then the packs in a case, the case on a pallet and the
// pallet shipped, each event as an outbox item.
func journal(t *testing.T, n int) ([]epcis.Event, []queue.Item) {
	t.Helper()
	var ids epcis.IDs
	rp, err := ids.SGLN("4012345000009", "LINE1")
	require.NoError(t, err)
	site, err := ids.SGLN("4012345000009", "")
	require.NoError(t, err)
	line := epcis.Line{ReadPoint: rp, BizLocation: site}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	var evs []epcis.Event
	var packs []string
	add := func(ev epcis.Event, err error) {
		t.Helper()
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	for i := range n {
		p, err := ids.SGTIN(gtin, fmt.Sprintf("EP%04d", i))
		require.NoError(t, err)
		packs = append(packs, p)
		add(line.Commission(at.Add(time.Duration(i)*time.Second), []string{p}, &epcis.ILMD{LotNumber: "AB12", ItemExpirationDate: "2026-12-31"}))
	}
	box, err := ids.SSCC("340123450000000017")
	require.NoError(t, err)
	pallet, err := ids.SSCC("340123450000000031")
	require.NoError(t, err)
	add(line.Pack(at.Add(time.Hour), box, packs))
	add(line.Pack(at.Add(time.Hour+time.Minute), pallet, []string{box}))
	add(line.Ship(at.Add(2*time.Hour), []string{pallet}, epcis.Shipment{}))
	items := make([]queue.Item, len(evs))
	for i, ev := range evs {
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		items[i] = facts.EPCISItem(ev.Common().EventID, raw)
	}
	return evs, items
}

// repository starts the emulator on loopback and returns a sender of it.
func repository(t *testing.T, opts epcissim.Options) (*epcissim.Server, *Sender) {
	t.Helper()
	sim := epcissim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := cloud.NewCapture(cloud.CaptureConfig{URL: srv.URL, Token: opts.Token, Timeout: 5 * time.Second})
	require.NoError(t, err)
	return sim, &Sender{EPCIS: c, EPCISPoll: 5 * time.Millisecond}
}

// storedIDs are the eventIDs the repository keeps, in order.
func storedIDs(t *testing.T, sim *epcissim.Server) []string {
	t.Helper()
	var out []string
	for _, raw := range sim.Events() {
		ev, err := epcis.DecodeEvent(raw)
		require.NoError(t, err)
		out = append(out, ev.Common().EventID)
	}
	return out
}

func eventIDs(evs []epcis.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Common().EventID
	}
	return out
}

func byState(recs []queue.Record) map[string][]queue.Record {
	out := map[string][]queue.Record{}
	for _, r := range recs {
		out[r.State] = append(out[r.State], r)
	}
	return out
}

func TestEPCISEventsAreCapturedInOneDocument(t *testing.T) {
	sim, s := repository(t, epcissim.Options{})
	evs, items := journal(t, 6)
	recs := drain(t, s, items, 500)
	require.Len(t, byState(recs)["delivered"], len(items))
	require.Equal(t, eventIDs(evs), storedIDs(t, sim), "every event once, in the journal's order")
	caps := sim.Captures()
	require.Len(t, caps, 1, "one batch, one document")
	require.Equal(t, len(evs), caps[0].Events)
	require.Zero(t, sim.Duplicates())
}

// The documents the sender writes are valid EPCIS 2.0.
func TestEPCISDocumentsAreValid(t *testing.T) {
	sch := epcisschema.Load(t)
	sim, s := repository(t, epcissim.Options{CaptureLimit: 4})
	_, items := journal(t, 5)
	drain(t, s, items, 500)
	caps := sim.Captures()
	require.Len(t, caps, 2, "8 events, 4 a document")
	for i, c := range caps {
		sch.Require(t, c.Body, fmt.Sprintf("document %d", i))
		var doc epcis.Document
		require.NoError(t, json.Unmarshal(c.Body, &doc))
		require.WithinDuration(t, time.Now(), doc.CreationDate.Time, time.Minute, "creationDate is when it was sent")
	}
}

// A job still running is looked at again until it has finished, and only
// then are the events delivered.
func TestEPCISWaitsForARunningJob(t *testing.T) {
	sim, s := repository(t, epcissim.Options{JobDelay: 300 * time.Millisecond})
	_, items := journal(t, 2)
	recs := drain(t, s, items, 500)
	jobs := sim.Jobs()
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].Success)
	for _, r := range recs {
		require.Equal(t, "delivered", r.State)
		require.False(t, r.DeliveredAt.Before(jobs[0].FinishedAt.Truncate(time.Millisecond)),
			"delivered at %s, before the job finished at %s", r.DeliveredAt, jobs[0].FinishedAt)
	}
}

// An event the repository refuses is found by splitting the document and
// parked with the repository's words; the others are delivered.
func TestEPCISRefusedEventIsParkedAlone(t *testing.T) {
	sim, s := repository(t, epcissim.Options{})
	evs, items := journal(t, 9) // 12 events
	bad := evs[6].Common().EventID
	sim.Refuse(func(ev epcis.Event) string {
		if ev.Common().EventID == bad {
			return "serial EP0006 was never registered with this repository"
		}
		return ""
	})
	recs := drain(t, s, items, 500)
	st := byState(recs)
	require.Len(t, st["delivered"], len(items)-1)
	require.Len(t, st["parked"], 1)
	require.Equal(t, bad, st["parked"][0].Key)
	require.Equal(t, "the EPCIS repository refused event "+bad+": event 1 ("+bad+"): serial EP0006 was never registered with this repository",
		st["parked"][0].LastError)
	want := slices.DeleteFunc(eventIDs(evs), func(id string) bool { return id == bad })
	require.ElementsMatch(t, want, storedIDs(t, sim), "the good events are stored, each once")
	require.Zero(t, sim.Duplicates(), "rolled-back documents stored nothing")
	require.LessOrEqual(t, len(sim.Captures()), 1+2*4, "a binary search: two captures a level at the most")
}

// A repository that takes fewer events than the batch holds gets smaller
// documents: at once when it says its limit, after a 413 when it does not.
func TestEPCISDocumentsShrinkToTheRepositorysLimit(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		sim, s := repository(t, epcissim.Options{CaptureLimit: 3, QuietLimits: quiet})
		evs, items := journal(t, 7) // 10 events
		recs := drain(t, s, items, 500)
		require.Len(t, byState(recs)["delivered"], len(items), "quiet=%v", quiet)
		require.Equal(t, eventIDs(evs), storedIDs(t, sim), "quiet=%v", quiet)
		tooLarge := 0
		for _, c := range sim.Captures() {
			if c.Status == http.StatusRequestEntityTooLarge {
				tooLarge++
				continue
			}
			require.Equal(t, http.StatusAccepted, c.Status)
			require.LessOrEqual(t, c.Events, 3)
		}
		if quiet {
			require.Positive(t, tooLarge, "the limit is learned from the refusal")
			// The next batch starts from what was learned.
			before := len(sim.Captures())
			_, more := journal(t, 1)
			out := s.Send(context.Background(), facts.KindEPCIS, pending(more[:3]...))
			require.Equal(t, []queue.Outcome{{Delivered: true}, {Delivered: true}, {Delivered: true}}, out)
			for _, c := range sim.Captures()[before:] {
				require.Equal(t, http.StatusAccepted, c.Status, "no 413 once the limit is known")
			}
		} else {
			require.Zero(t, tooLarge, "the advertised limit is kept from the start")
		}
	}
}

// A document over the repository's size limit is split too; an event
// alone over it is parked, saying so.
func TestEPCISDocumentSizeLimit(t *testing.T) {
	evs, items := journal(t, 6)
	// The packing of six packs is the largest event: the limit lets
	// every other event through alone.
	big, limit := 6, 0
	for i, ev := range evs {
		alone, err := json.Marshal(epcis.NewDocument(time.Now(), ev))
		require.NoError(t, err)
		if i != big {
			limit = max(limit, len(alone)+50)
		} else {
			require.Greater(t, len(alone), limit+50)
		}
	}
	sim, s := repository(t, epcissim.Options{CaptureFileSizeLimit: int64(limit)})
	out := s.Send(context.Background(), facts.KindEPCIS, pending(items...))
	for i, o := range out {
		if i == big {
			require.Equal(t, queue.Permanent, o.Failure.Class)
			require.Contains(t, o.Failure.Message, "the event alone makes a document of")
			require.Contains(t, o.Failure.Message, fmt.Sprintf("bytes, more than the %d bytes the repository takes in one capture", limit))
			continue
		}
		require.True(t, o.Delivered, "event %d: %+v", i, o.Failure)
	}
	require.Len(t, sim.Events(), len(items)-1)
	for _, c := range sim.Captures() {
		require.Equal(t, http.StatusAccepted, c.Status, "the advertised size is kept: no 413")
	}
}

// 503 with Retry-After: the batch waits as the repository asks, then goes.
func TestEPCISServiceUnavailableRetriesLater(t *testing.T) {
	sim, s := repository(t, epcissim.Options{})
	sim.FailCaptures(1, epcissim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second})
	_, items := journal(t, 2)
	out := s.Send(context.Background(), facts.KindEPCIS, pending(items...))
	for _, o := range out {
		require.Equal(t, queue.Temporary, o.Failure.Class)
		require.Equal(t, time.Second, o.Failure.RetryAfter)
		require.Contains(t, o.Failure.Message, "HTTP 503")
	}
	sim.FailCaptures(1, epcissim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second})
	recs := drain(t, s, items, 500)
	require.Len(t, byState(recs)["delivered"], len(items))
	caps := sim.Captures()
	var statuses []int
	for _, c := range caps {
		statuses = append(statuses, c.Status)
	}
	require.Equal(t, []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusAccepted}, statuses)
	require.GreaterOrEqual(t, caps[2].At.Sub(caps[1].At), time.Second, "the queue sent it again after the Retry-After")
}

func TestEPCISRefusedCredentialsWaitWithoutPausingTheCloud(t *testing.T) {
	sim, _ := repository(t, epcissim.Options{Token: "the-repositorys"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := cloud.NewCapture(cloud.CaptureConfig{URL: srv.URL, Token: "an-old-one", Timeout: 5 * time.Second})
	require.NoError(t, err)
	s := &Sender{EPCIS: c}
	_, items := journal(t, 1)
	for _, o := range s.Send(context.Background(), facts.KindEPCIS, pending(items...)) {
		require.False(t, o.Delivered)
		require.Equal(t, queue.Temporary, o.Failure.Class, "waits, neither parked nor pausing the cloud's sync")
		require.Equal(t, time.Minute, o.Failure.RetryAfter)
		require.Equal(t, "cloud EPCIS capture: HTTP 401 epcisException:SecurityException: give the repository's token as Authorization: Bearer: "+
			"the EPCIS repository refused the credentials; check epcis.token, or epcis.username and epcis.password", o.Failure.Message)
	}
	require.Empty(t, sim.Jobs())
}

func TestEPCISWithoutARepositoryWaits(t *testing.T) {
	_, items := journal(t, 1)
	out := (&Sender{}).Send(context.Background(), facts.KindEPCIS, pending(items...))
	require.Len(t, out, len(items))
	for _, o := range out {
		require.Equal(t, &queue.Failure{Class: queue.Temporary, RetryAfter: time.Minute, Message: "no EPCIS repository configured (epcis.capture_url)"}, o.Failure)
	}
}

// The capture is taken but its answer is lost: sent again, the repository
// drops what it has, and keeps each event once.
func TestEPCISResendAfterALostAnswerIsHarmless(t *testing.T) {
	sim, s := repository(t, epcissim.Options{})
	sim.FailCaptures(1, epcissim.Fault{Drop: true})
	evs, items := journal(t, 3)
	recs := drain(t, s, items, 500)
	require.Len(t, byState(recs)["delivered"], len(items))
	require.Equal(t, eventIDs(evs), storedIDs(t, sim))
	require.Equal(t, len(evs), sim.Duplicates(), "the second capture's events were all known")
	for _, ev := range evs {
		require.Equal(t, 2, sim.Count(ev.Common().EventID))
	}
}

// A job that cannot be read leaves the events to the queue's retry; sent
// again, they are delivered and stored once.
func TestEPCISJobUnreachableRetries(t *testing.T) {
	sim, s := repository(t, epcissim.Options{})
	sim.FailJobs(1, epcissim.Fault{Status: http.StatusBadGateway})
	evs, items := journal(t, 2)
	out := s.Send(context.Background(), facts.KindEPCIS, pending(items...))
	for _, o := range out {
		require.Equal(t, queue.Temporary, o.Failure.Class)
		require.True(t, strings.HasPrefix(o.Failure.Message, "cloud EPCIS capture job: HTTP 502"), o.Failure.Message)
	}
	drain(t, s, items, 500)
	require.Equal(t, eventIDs(evs), storedIDs(t, sim))
	require.Equal(t, len(evs), sim.Duplicates())
}

func TestEPCISUnreadablePayloadIsParked(t *testing.T) {
	_, s := repository(t, epcissim.Options{})
	_, items := journal(t, 1)
	items[1].Payload = []byte(`{"type":"TransformationEvent"}`)
	out := s.Send(context.Background(), facts.KindEPCIS, pending(items...))
	require.Equal(t, queue.Permanent, out[1].Failure.Class)
	require.Contains(t, out[1].Failure.Message, `payload: epcis: event type "TransformationEvent" is not supported`)
	require.True(t, out[0].Delivered)
	require.True(t, out[2].Delivered)
}

// A job that runs longer than the sender waits leaves its events to the
// queue's retry, naming the job.
func TestEPCISJobRunningTooLongRetries(t *testing.T) {
	sim, s := repository(t, epcissim.Options{JobDelay: time.Minute})
	s.EPCISWait = 100 * time.Millisecond
	_, items := journal(t, 1)
	out := s.Send(context.Background(), facts.KindEPCIS, pending(items...))
	jobs := sim.Jobs()
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].Running)
	for _, o := range out {
		require.Equal(t, queue.Temporary, o.Failure.Class)
		require.Regexp(t, `^the capture job http://127\.0\.0\.1:\d+/capture/`+jobs[0].CaptureID+` was still running after 100ms: its events go again later$`, o.Failure.Message)
	}
}
