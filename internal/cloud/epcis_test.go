package cloud_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/epcissim"
)

// epcisDocument is a document of n commissionings, built as the line
// builds them.
func epcisDocument(t *testing.T, n int) ([]byte, []epcis.Event) {
	t.Helper()
	var ids epcis.IDs
	rp, err := ids.SGLN("4012345000009", "LINE1")
	require.NoError(t, err)
	line := epcis.Line{ReadPoint: rp}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	var evs []epcis.Event
	for i := range n {
		p, err := ids.SGTIN(gtin, "C"+string(rune('A'+i)))
		require.NoError(t, err)
		ev, err := line.Commission(at.Add(time.Duration(i)*time.Second), []string{p}, nil)
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	raw, err := json.Marshal(epcis.NewDocument(at, evs...))
	require.NoError(t, err)
	return raw, evs
}

func newCapture(t *testing.T, cfg cloud.CaptureConfig) *cloud.Capture {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	c, err := cloud.NewCapture(cfg)
	require.NoError(t, err)
	return c
}

func TestCaptureAndFollowTheJob(t *testing.T) {
	sim := epcissim.New(epcissim.Options{Token: redirToken, JobDelay: 200 * time.Millisecond})
	mux := http.NewServeMux()
	mux.Handle("/epcis/", http.StripPrefix("/epcis", sim))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newCapture(t, cloud.CaptureConfig{URL: srv.URL + "/epcis", Token: redirToken})
	ctx := context.Background()

	doc, evs := epcisDocument(t, 3)
	jobURL, err := c.Capture(ctx, doc)
	require.NoError(t, err)
	require.Regexp(t, `^`+srv.URL+`/epcis/capture/id\d+$`, jobURL, "the relative Location, resolved against the capture URL")
	job, err := c.Job(ctx, jobURL)
	require.NoError(t, err)
	require.True(t, job.Running)
	require.Eventually(t, func() bool {
		job, err = c.Job(ctx, jobURL)
		require.NoError(t, err)
		return !job.Running
	}, 5*time.Second, 10*time.Millisecond)
	require.True(t, job.Success)
	require.Equal(t, "rollback", job.CaptureErrorBehaviour, "the client asks for all or nothing")
	require.Len(t, sim.Events(), 3)
	require.Equal(t, 1, sim.Count(evs[2].Common().EventID))

	caps := sim.Captures()
	require.Len(t, caps, 1)
	require.JSONEq(t, string(doc), string(caps[0].Body), "the document goes as given")
}

func TestCaptureJobWithErrorsTellsTheRepositorysWords(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	sim.Refuse(func(epcis.Event) string { return "the product is not registered" })
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := newCapture(t, cloud.CaptureConfig{URL: srv.URL})
	doc, _ := epcisDocument(t, 1)
	jobURL, err := c.Capture(context.Background(), doc)
	require.NoError(t, err)
	job, err := c.Job(context.Background(), jobURL)
	require.NoError(t, err)
	require.False(t, job.Success)
	require.Contains(t, job.Reason(), "the product is not registered")
}

func TestCaptureRefusedCredentials(t *testing.T) {
	sim := epcissim.New(epcissim.Options{Token: "the-right-one"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	doc, _ := epcisDocument(t, 1)
	for _, cfg := range []cloud.CaptureConfig{{URL: srv.URL, Token: "a-wrong-one"}, {URL: srv.URL, Username: "u", Password: "p"}, {URL: srv.URL}} {
		_, err := newCapture(t, cfg).Capture(context.Background(), doc)
		require.ErrorIs(t, err, cloud.ErrCaptureRefusedCredentials)
		var ce *cloud.Error
		require.ErrorAs(t, err, &ce)
		require.Equal(t, http.StatusUnauthorized, ce.Status)
		require.False(t, ce.Retryable)
		require.Equal(t, "cloud EPCIS capture: HTTP 401 epcisException:SecurityException: give the repository's token as Authorization: Bearer", err.Error())
	}
	require.Empty(t, sim.Jobs())
}

func TestCaptureServiceUnavailableSaysWhenToRetry(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := newCapture(t, cloud.CaptureConfig{URL: srv.URL})
	sim.FailCaptures(1, epcissim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 7 * time.Second})
	doc, _ := epcisDocument(t, 1)
	_, err := c.Capture(context.Background(), doc)
	var ce *cloud.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, http.StatusServiceUnavailable, ce.Status)
	require.True(t, ce.Retryable)
	require.Equal(t, 7*time.Second, ce.RetryAfter)

	// A job that cannot be read is worth asking again.
	jobURL, err := c.Capture(context.Background(), doc)
	require.NoError(t, err)
	sim.FailJobs(1, epcissim.Fault{Drop: true})
	_, err = c.Job(context.Background(), jobURL)
	require.True(t, cloud.IsRetryable(err), "%v", err)
	_, err = c.Job(context.Background(), jobURL)
	require.NoError(t, err)
}

func TestCaptureLimits(t *testing.T) {
	doc, _ := epcisDocument(t, 3)
	for _, quiet := range []bool{false, true} {
		sim := epcissim.New(epcissim.Options{CaptureLimit: 2, QuietLimits: quiet})
		srv := httptest.NewServer(sim)
		c := newCapture(t, cloud.CaptureConfig{URL: srv.URL})
		want := cloud.CaptureLimits{Events: 2}
		if quiet {
			want = cloud.CaptureLimits{}
		}
		require.Equal(t, want, c.Limits(context.Background()), "told by OPTIONS /capture unless quiet")
		_, err := c.Capture(context.Background(), doc)
		var large *cloud.CaptureTooLargeError
		require.ErrorAs(t, err, &large)
		require.Equal(t, want, large.Limits)
		var ce *cloud.Error
		require.ErrorAs(t, err, &ce)
		require.Equal(t, http.StatusRequestEntityTooLarge, ce.Status)
		require.False(t, ce.Retryable, "the same document is refused again")
		if !quiet {
			require.Equal(t, "the document holds more than the repository takes in one capture (at most 2 events)", large.Error())
		}
		srv.Close()
	}
}

// The token goes with the capture only to the configured host: not after a
// redirect, nor to a capture job the repository names on another host.
func TestCaptureCredentialsStayOnTheConfiguredHost(t *testing.T) {
	other := newElsewhere(t)
	front := redirector(t, other.URL)
	doc, _ := epcisDocument(t, 1)
	for path, cfg := range map[string]cloud.CaptureConfig{"/epcis": {URL: front.URL + "/epcis", Token: redirToken}, "": {URL: front.URL, Username: "user", Password: redirSecret}} {
		c := newCapture(t, cfg)
		_, err := c.Capture(context.Background(), doc)
		other.requireNothingSeen(t)
		requireRefusedRedirect(t, err, other.URL+path+"/capture: ")
		require.ErrorContains(t, err, "cloud EPCIS capture: ")
		_, err = c.Job(context.Background(), front.URL+"/capture/id1")
		other.requireNothingSeen(t)
		requireRefusedRedirect(t, err, other.URL+"/capture/id1")
	}

	elsewhereJob := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", other.URL+"/capture/id1")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer elsewhereJob.Close()
	c := newCapture(t, cloud.CaptureConfig{URL: elsewhereJob.URL, Token: redirToken})
	_, err := c.Capture(context.Background(), doc)
	require.ErrorContains(t, err, "the repository named its capture job on another host, "+other.URL+"/capture/id1: credentials are only sent to the configured host")
	require.True(t, cloud.IsRetryable(err), "the events wait for the repository to be put right")
	_, err = c.Job(context.Background(), other.URL+"/capture/id1")
	require.ErrorContains(t, err, "is not on the configured host")
	other.requireNothingSeen(t)
}

func TestNewCaptureSaysWhatIsWrong(t *testing.T) {
	for cfg, words := range map[cloud.CaptureConfig]string{
		{URL: "repo.example/epcis"}:                            `epcis capture URL "repo.example/epcis": must be https://host/path, without query`,
		{URL: "https://repo.example/epcis?x=1"}:                "without query",
		{URL: "https://u:secret@repo.example/"}:                "give the username and password as settings, not in the URL",
		{URL: "https://r.example", Token: "t", Username: "u"}:  "epcis auth: give a token or a username and password, not both",
		{URL: "https://r.example", Username: "u"}:              "epcis auth: a username needs its password",
		{URL: "https://r.example", Password: "p"}:              "epcis auth: a password needs its username",
		{URL: "https://r.example", CAFile: "/nonexistent.pem"}: "cloud CA file",
	} {
		_, err := cloud.NewCapture(cfg)
		require.ErrorContains(t, err, words)
		require.NotContains(t, err.Error(), "secret", "the password is not repeated")
	}
	_, err := cloud.NewCapture(cloud.CaptureConfig{URL: "https://repo.example/epcis/"})
	require.NoError(t, err, "a repository without credentials")
	require.False(t, errors.Is(err, cloud.ErrCaptureRefusedCredentials))
}

// TLS is verified: a repository whose certificate no trusted CA signed is
// refused, unless its CA is configured.
func TestCaptureVerifiesTLS(t *testing.T) {
	srv := httptest.NewTLSServer(epcissim.New(epcissim.Options{}))
	defer srv.Close()
	doc, _ := epcisDocument(t, 1)
	_, err := newCapture(t, cloud.CaptureConfig{URL: srv.URL}).Capture(context.Background(), doc)
	require.ErrorContains(t, err, "certificate")
	require.Empty(t, srv.Config.Handler.(*epcissim.Server).Captures())

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	_, err = newCapture(t, cloud.CaptureConfig{URL: srv.URL, CAFile: caFile}).Capture(context.Background(), doc)
	require.NoError(t, err)
}
