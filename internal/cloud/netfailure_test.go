package cloud

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Network failures are told apart by their types, wrapped as net/http
// wraps them: what failed before anything was sent is never ambiguous.
func TestNetworkFailuresByType(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "https://cloud/x?k=v", Err: err} }
	for _, tc := range []struct {
		name               string
		err                error
		ambiguous, timeout bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false, false},
		{"no such host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "cloud", IsNotFound: true}}, false, false},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, false, true},
		{"certificate", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false, false},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true, false},
		{"broken pipe", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, true, false},
		{"closed without an answer", io.EOF, true, false},
		{"read timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true, true},
		{"client timeout", context.DeadlineExceeded, true, true},
	} {
		err := transportError("commission", wrap(tc.err), true)
		e := err.(*Error)
		assert.Equal(t, tc.ambiguous, e.Ambiguous, tc.name)
		assert.Equal(t, tc.timeout, e.Timeout, tc.name)
		assert.True(t, e.Retryable, tc.name)
		assert.ErrorIs(t, err, tc.err, "%s: the cause stays reachable", tc.name)
		assert.NotContains(t, err.Error(), "k=v", "the query is dropped")
		assert.False(t, transportError("open packaging orders", wrap(tc.err), false).(*Error).Ambiguous, "%s: a request without a body changes nothing", tc.name)
	}
}
