package cloudsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/edgeagent/edgeagent/internal/clock"
	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// epcisEvents captures a batch of the journal's events as one
// EPCISDocument (more when the repository's limits ask for smaller ones),
// waits for the capture job and settles each event by it: a job that
// succeeded delivers every event of its document; a job with errors
// stored none of them (the client asks for rollback), so a document of
// more than one event is split in two and each half captured again, until
// the events the repository refuses stand alone and are parked with its
// words. Anything else (the network, the repository's 5xx or 429, a job
// that cannot be read, refused credentials) leaves the events waiting.
//
// Sending an event again is harmless. Its eventID is its CBV 2.0 hash, the
// natural key of its item, and a repository drops an eventID it already
// has: an event captured but not marked delivered (the agent stopped
// before the outbox recorded the job's success, or the answer was lost on
// the way) goes again after a restart, and the repository keeps one copy.
// The halves of a split are sent again for the same reason.
func (s *Sender) epcisEvents(ctx context.Context, items []queue.Pending) []queue.Outcome {
	out := make([]queue.Outcome, len(items))
	if s.EPCIS == nil {
		return fill(out, &queue.Failure{Class: queue.Temporary, RetryAfter: time.Minute, Message: "no EPCIS repository configured (epcis.capture_url)"})
	}
	c := &epcisCapture{s: s, out: out, events: make([]epcis.Event, len(items)),
		poll: s.EPCISPoll, wait: s.EPCISWait}
	if c.poll <= 0 {
		c.poll = 500 * time.Millisecond
	}
	if c.wait <= 0 {
		c.wait = 2 * time.Minute
	}
	var idx []int
	for i, p := range items {
		ev, err := epcis.DecodeEvent(p.Payload)
		if err != nil {
			out[i].Failure = permanent("payload: " + err.Error())
			continue
		}
		c.events[i] = ev
		idx = append(idx, i)
	}
	c.send(ctx, idx)
	return out
}

// epcisCapture is the capture of one batch.
type epcisCapture struct {
	s          *Sender
	events     []epcis.Event
	out        []queue.Outcome
	poll, wait time.Duration
	// stop is the failure that ended the batch: the events not yet sent
	// get it too, without a request, and go again later in their order.
	stop *queue.Failure
}

// send captures the events at idx, splitting as needed.
func (c *epcisCapture) send(ctx context.Context, idx []int) {
	if len(idx) == 0 {
		return
	}
	if c.stop == nil && ctx.Err() != nil {
		c.stop = &queue.Failure{Class: queue.Again, Message: ctx.Err().Error()}
	}
	if c.stop != nil {
		fillIdx(c.out, idx, c.stop)
		return
	}
	limits := c.limits(ctx)
	if limits.Events > 0 && len(idx) > limits.Events {
		for start := 0; start < len(idx); start += limits.Events {
			c.send(ctx, idx[start:min(start+limits.Events, len(idx))])
		}
		return
	}
	evs := make([]epcis.Event, len(idx))
	for k, i := range idx {
		evs[k] = c.events[i]
	}
	doc, err := json.Marshal(epcis.NewDocument(time.Now(), evs...))
	if err != nil {
		fillIdx(c.out, idx, permanent("payload: "+err.Error()))
		return
	}
	if limits.Bytes > 0 && int64(len(doc)) > limits.Bytes {
		if len(idx) == 1 {
			c.refuse(idx[0], fmt.Sprintf("the event alone makes a document of %d bytes, more than the %d bytes the repository takes in one capture", len(doc), limits.Bytes))
			return
		}
		c.split(ctx, idx)
		return
	}
	var job string
	err = withResend(ctx, func() error {
		var err error
		job, err = c.s.EPCIS.Capture(ctx, doc)
		return err
	})
	if err != nil {
		var large *cloud.CaptureTooLargeError
		var ce *cloud.Error
		switch {
		case errors.As(err, &large) && len(idx) > 1:
			if large.Limits == (cloud.CaptureLimits{}) {
				c.s.epcisMax.Store(int64(len(idx) / 2)) // no limit told: halve until it is taken
			}
			c.split(ctx, idx)
		case errors.As(err, &large):
			c.refuse(idx[0], large.Error())
		case errors.As(err, &ce) && ce.Status == http.StatusBadRequest && len(idx) > 1:
			// The document was refused on receipt, which one event can
			// cause: find it as for a failed job.
			c.split(ctx, idx)
		case errors.As(err, &ce) && ce.Status == http.StatusBadRequest:
			c.refuse(idx[0], ce.Message)
		default:
			c.stop = epcisFailure(err)
			fillIdx(c.out, idx, c.stop)
		}
		return
	}
	j, err := c.job(ctx, job)
	switch {
	case err != nil:
		c.stop = epcisFailure(err)
		fillIdx(c.out, idx, c.stop)
	case j.Success:
		fillIdx(c.out, idx, nil)
	case len(idx) > 1:
		c.split(ctx, idx)
	default:
		c.refuse(idx[0], j.Reason())
	}
}

// split captures each half of idx in turn.
func (c *epcisCapture) split(ctx context.Context, idx []int) {
	half := len(idx) / 2
	c.send(ctx, idx[:half])
	c.send(ctx, idx[half:])
}

// refuse parks one event with the repository's words.
func (c *epcisCapture) refuse(i int, why string) {
	id := c.events[i].Common().EventID
	if id == "" {
		id = "without eventID"
	}
	c.out[i] = queue.Outcome{Failure: permanent(fmt.Sprintf("the EPCIS repository refused event %s: %s", id, why))}
}

// limits are the repository's, and what the sender learned.
func (c *epcisCapture) limits(ctx context.Context) cloud.CaptureLimits {
	l := c.s.EPCIS.Limits(ctx)
	if n := int(c.s.epcisMax.Load()); n > 0 && (l.Events == 0 || n < l.Events) {
		l.Events = n
	}
	return l
}

// job follows a capture job until it has finished, c.wait at the most.
func (c *epcisCapture) job(ctx context.Context, jobURL string) (cloud.CaptureJob, error) {
	ctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	for {
		j, err := c.s.EPCIS.Job(ctx, jobURL)
		switch {
		case err == nil && !j.Running:
			return j, nil
		case err != nil && ctx.Err() == nil:
			return j, err
		case err == nil && clock.Sleep(ctx, c.poll) == nil:
			continue
		}
		// The wait is over, in a pause or in a look.
		return j, fmt.Errorf("the capture job %s was still running after %s: its events go again later", jobURL, c.wait)
	}
}

// epcisFailure maps a failure of a whole capture to the retry policy.
// Only the repository's refusal of the events themselves parks them (see
// send); the rest leaves them waiting, for the journal must reach the
// repository whole: the network, 5xx and 429 with the repository's
// Retry-After, and answers about the configuration, such as a wrong URL
// or refused credentials, which a person puts right without touching the
// events.
func epcisFailure(err error) *queue.Failure {
	var ce *cloud.Error
	switch {
	case errors.Is(err, context.Canceled):
		return &queue.Failure{Class: queue.Again, Message: err.Error()}
	case errors.Is(err, cloud.ErrCaptureRefusedCredentials) && errors.As(err, &ce):
		// Not queue.Auth: that pauses the whole sync, and the cloud's own
		// deliveries do not depend on the repository's credentials.
		return &queue.Failure{Class: queue.Temporary, RetryAfter: time.Minute,
			Message: ce.Error() + ": " + cloud.ErrCaptureRefusedCredentials.Error() + "; check epcis.token, or epcis.username and epcis.password"}
	case errors.As(err, &ce) && ce.Retryable:
		return classify(err)
	case errors.As(err, &ce):
		return &queue.Failure{Class: queue.Temporary, RetryAfter: time.Minute, Message: ce.Error()}
	}
	return &queue.Failure{Class: queue.Temporary, Message: err.Error()}
}
