package api

import (
	"testing"

	"github.com/edgeagent/edgeagent/internal/api/apitest"
)

// checked makes every exchange any client of the test has with s (before
// Start) validated against openapi.yaml, the document the server serves:
// an answer the document does not describe fails the test (apitest).
func checked(t testing.TB, s *Server) *Server {
	t.Helper()
	s.srv.Handler = apitest.Handler(t, apitest.MustNew(t, openapiYAML), s.srv.Handler)
	return s
}
