package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// liveHub renders the live part of each dashboard page for every tab that
// follows it: once an interval at most, while at least one tab follows,
// however many do, and all of them get the same bytes. A fragment is
// handed out only when it differs from the one before, so a page that
// does not change costs its followers nothing but that render.
type liveHub struct {
	s *Server

	mu    sync.Mutex
	every time.Duration
	pages map[string]*livePage
}

// livePage is one page's latest fragment and who follows it.
type livePage struct {
	name    string
	frag    []byte    // the latest fragment rendered
	version int       // counts the fragments that differed from the one before
	at      time.Time // when the page was last rendered
	running bool      // a renderer serves the page
	subs    map[*liveSub]bool
	renders int // how often it was rendered
}

// liveSub is one tab. ch holds the newest fragment it has not yet sent (a
// tab slower than the page's changes skips to the latest); version is the
// page's version it was handed last (0: none yet).
type liveSub struct {
	ch      chan []byte
	version int
}

// offer hands the tab the page's fragment, under the hub's lock.
func (c *liveSub) offer(p *livePage) {
	select {
	case <-c.ch:
	default:
	}
	c.ch <- p.frag // only the hub, under its lock, puts: there is room now
	c.version = p.version
}

func newLiveHub(s *Server, every time.Duration) *liveHub {
	return &liveHub{s: s, every: every, pages: map[string]*livePage{}}
}

// subscribe follows a page: the page as it is comes first (a tab
// reconnecting may have missed changes) — the latest fragment if it was
// rendered within the interval, else the next render, which is due at
// once — then every change.
func (h *liveHub) subscribe(name string) *liveSub {
	sub := &liveSub{ch: make(chan []byte, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.pages[name]
	if p == nil {
		p = &livePage{name: name, subs: map[*liveSub]bool{}}
		h.pages[name] = p
	}
	p.subs[sub] = true
	if p.version > 0 && time.Since(p.at) < h.every {
		sub.offer(p)
	}
	if !p.running {
		p.running = true
		go h.run(p)
	}
	return sub
}

func (h *liveHub) unsubscribe(name string, sub *liveSub) {
	h.mu.Lock()
	delete(h.pages[name].subs, sub)
	h.mu.Unlock()
}

// run renders a page once an interval while anyone follows it, and hands
// each new fragment to its followers. A page whose last follower left and
// a new one came within the interval is not rendered again before the
// interval is up.
func (h *liveHub) run(p *livePage) {
	for {
		h.mu.Lock()
		if len(p.subs) == 0 {
			p.running = false
			h.mu.Unlock()
			return
		}
		wait := time.Until(p.at.Add(h.every))
		h.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-h.s.base.Done():
				t.Stop()
				h.mu.Lock()
				p.running = false
				h.mu.Unlock()
				return
			}
			continue // the followers may have left meanwhile
		}
		frag, err := h.render(p.name)
		h.mu.Lock()
		p.at = time.Now()
		p.renders++
		if err == nil && (p.version == 0 || !bytes.Equal(frag, p.frag)) {
			p.frag = frag
			p.version++
		}
		for sub := range p.subs {
			if p.version > 0 && sub.version != p.version {
				sub.offer(p)
			}
		}
		h.mu.Unlock()
	}
}

// render reads a page's data and renders its live part. A page whose data
// cannot be read is skipped this time, as its tabs keep what they show.
func (h *liveHub) render(name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(h.s.base, 10*time.Second)
	defer cancel()
	d, err := livePages[name](h.s, ctx)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "live", d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// live streams a page's fragment whenever it changes.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("page")
	if _, ok := livePages[name]; !ok {
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	if !s.streams.open() {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many live views are open: close some, or try again shortly"})
		return
	}
	defer s.streams.close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	sub := s.hub.subscribe(name)
	defer s.hub.unsubscribe(name, sub)
	for {
		select {
		case <-r.Context().Done():
			return
		case frag := <-sub.ch:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			var b strings.Builder
			b.WriteString("event: fragment\n")
			for _, l := range strings.Split(string(frag), "\n") {
				fmt.Fprintf(&b, "data: %s\n", l)
			}
			b.WriteString("\n")
			if _, err := io.WriteString(w, b.String()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
