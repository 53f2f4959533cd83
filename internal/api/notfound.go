package api

import (
	"net/http"
	"sort"
	"strings"

	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// notFound answers a request no route took, in the shape of the API its
// path belongs to: the V2 dialect's error body under the V2 prefix,
// {"error": …} under /api/v1. A path that exists with other methods is
// 405 with Allow.
func (s *Server) notFound(v2Shape bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, msg := http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path
		if allow := s.methodsFor(r.URL.Path); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			status, msg = http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+": use "+strings.Join(allow, " or ")
		}
		if v2Shape {
			writeJSON(w, status, v2.ErrorBody{Message: msg})
			return
		}
		writeJSON(w, status, map[string]string{"error": msg})
	}
}

// epcisNotFound answers a path under /epcis/ that no route takes as the
// EPCIS binding does, with a problem.
func (s *Server) epcisNotFound() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allow := s.methodsFor(r.URL.Path); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, http.StatusMethodNotAllowed, problemHTTP, r.Method+" is not allowed on "+r.URL.Path+": use "+strings.Join(allow, " or "))
			return
		}
		writeProblem(w, http.StatusNotFound, problemHTTP, "no such endpoint: "+r.Method+" "+r.URL.Path+"; this agent answers GET /epcis/events and GET /epcis/events/{eventID}")
	}
}

// methodsFor lists the methods the routes serve on a path.
func (s *Server) methodsFor(path string) []string {
	seen := map[string]bool{}
	for _, route := range s.routes {
		method, pattern, ok := strings.Cut(route, " ")
		if ok && matches(pattern, path) {
			seen[method] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// matches reports whether a route pattern's path (with {wildcards})
// matches a request path exactly.
func matches(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) || strings.HasSuffix(pattern, "/") != strings.HasSuffix(path, "/") {
		return false
	}
	for i := range ps {
		if !(strings.HasPrefix(ps[i], "{") && xs[i] != "") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}
