package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strconv"

	"github.com/edgeagent/edgeagent/internal/users"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// peopleRequest is the body of the people routes.
type peopleRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Password  string     `json:"password"`
	PIN       string     `json:"pin"`
	Code      string     `json:"code"` // sign-on: a badge code or a PIN
	Reason    string     `json:"reason"`
	Signature *signature `json:"signature"`
}

// peopleRoutes: users (admins), paired station screens (supervisors) and
// sign-on at a station.
func (s *Server) peopleRoutes(mux mux) {
	if s.cfg.People == nil {
		return
	}
	u := s.cfg.People.Users
	act := func(fn func(r *http.Request, actor string, req peopleRequest) (map[string]any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req peopleRequest
			if err := readJSON(w, r, &req); err != nil {
				s.agentError(w, r, err)
				return
			}
			actor, _ := s.who(r)
			out, err := fn(r, actor, req)
			if err != nil {
				s.agentError(w, r, err)
				return
			}
			if out == nil {
				out = map[string]any{}
			}
			out["ok"] = true
			writeJSON(w, http.StatusOK, out)
		}
	}
	signed := func(fn func(r *http.Request, actor string, req peopleRequest) (map[string]any, error)) http.HandlerFunc {
		return act(func(r *http.Request, _ string, req peopleRequest) (map[string]any, error) {
			actor, err := s.signer(r, req.Signature, req.Reason)
			if err != nil {
				return nil, err
			}
			return fn(r, actor, req)
		})
	}
	mux.HandleFunc("GET /api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		list, err := u.List(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot read the users"})
			return
		}
		writeJSON(w, http.StatusOK, list)
	})
	mux.HandleFunc("POST /api/v1/users", signed(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		role, err := users.ParseRole(req.Role)
		if err != nil {
			return nil, err
		}
		return nil, u.Add(r.Context(), actor, req.Name, role, req.Password)
	}))
	mux.HandleFunc("POST /api/v1/users/{name}/password", signed(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		return nil, u.SetPassword(r.Context(), actor, r.PathValue("name"), req.Password)
	}))
	mux.HandleFunc("POST /api/v1/users/{name}/role", signed(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		role, err := users.ParseRole(req.Role)
		if err != nil {
			return nil, err
		}
		return nil, u.SetRole(r.Context(), actor, r.PathValue("name"), role)
	}))
	mux.HandleFunc("POST /api/v1/users/{name}/disable", signed(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		return nil, u.Disable(r.Context(), actor, r.PathValue("name"))
	}))
	mux.HandleFunc("POST /api/v1/users/{name}/enable", signed(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		return nil, u.Enable(r.Context(), actor, r.PathValue("name"))
	}))
	mux.HandleFunc("POST /api/v1/users/{name}/badge", act(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		badge, err := u.SetBadge(r.Context(), actor, r.PathValue("name"))
		if err != nil {
			return nil, err
		}
		// The code is shown once: with it, a picture of the badge to print.
		out := map[string]any{"badge": badge}
		zplBadge := fmt.Sprintf("^XA^PW600^LL260^FO30,20^A0N,36,30^FD%s^FS^FO30,70^BY2^BCN,120,N,N,N^FD%s^FS^XZ", r.PathValue("name"), badge)
		if img, _, err := zpl.Preview([]byte(zplBadge), zpl.PreviewOptions{DPMM: 8}); err == nil {
			var buf bytes.Buffer
			if png.Encode(&buf, img) == nil {
				out["png"] = base64.StdEncoding.EncodeToString(buf.Bytes())
			}
		}
		return out, nil
	}))
	mux.HandleFunc("POST /api/v1/users/{name}/pin", act(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		return nil, u.SetPIN(r.Context(), actor, r.PathValue("name"), req.PIN)
	}))

	// A supervisor pairs the screen they are using with its station: the
	// browser keeps a device credential and shows the station live from
	// then on, across restarts, whoever is logged in or not.
	mux.HandleFunc("POST /api/v1/stations/{name}/pair", act(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		if err := s.knownStation(r); err != nil {
			return nil, err
		}
		cred, d, err := s.cfg.People.Devices.Pair(r.Context(), actor, r.PathValue("name"))
		if err != nil {
			return nil, err
		}
		if w, ok := r.Context().Value(writerKey{}).(http.ResponseWriter); ok {
			http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: cred, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
				Secure: r.TLS != nil, MaxAge: int(deviceCookieAge.Seconds())})
		}
		return map[string]any{"screen": d.ID, "station": d.Station}, nil
	}))
	mux.HandleFunc("GET /api/v1/devices", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.cfg.People.Devices.List(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot read the paired screens"})
			return
		}
		if list == nil {
			list = []users.Device{}
		}
		writeJSON(w, http.StatusOK, list)
	})
	mux.HandleFunc("POST /api/v1/devices/{id}/revoke", act(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return nil, &accessError{status: http.StatusBadRequest, msg: "screen id " + strconv.Quote(r.PathValue("id")) + ": must be a number"}
		}
		err = s.cfg.People.Devices.Revoke(r.Context(), actor, id)
		if errors.Is(err, users.ErrNoDevice) {
			return nil, &accessError{status: http.StatusNotFound, msg: fmt.Sprintf("screen %d: no paired screen has that number", id)}
		}
		return nil, err
	}))
	mux.HandleFunc("POST /api/v1/stations/{name}/sign-on", act(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		if err := s.knownStation(r); err != nil {
			return nil, err
		}
		got, err := u.SignOn(r.Context(), r.PathValue("name"), req.Code)
		return map[string]any{"user": got.Name}, err
	}))
	mux.HandleFunc("POST /api/v1/stations/{name}/sign-off", act(func(r *http.Request, actor string, req peopleRequest) (map[string]any, error) {
		if err := s.knownStation(r); err != nil {
			return nil, err
		}
		return nil, u.SignOff(r.Context(), r.PathValue("name"))
	}))
}

// knownStation refuses a path's {name} that is no station of the line.
func (s *Server) knownStation(r *http.Request) error {
	if _, ok := s.cfg.Line.Stations.Get(r.PathValue("name")); !ok {
		return &accessError{status: http.StatusNotFound, msg: "no station " + strconv.Quote(r.PathValue("name"))}
	}
	return nil
}

type writerKey struct{}
