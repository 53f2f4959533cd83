package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// A carrier's label comes from the shipping service when an order is
// shipped; the shipping template passes it through. Its preview shows a
// label of the carriers' usual size and layout, marked as an example.
const carrierExample = "^XA^CI28^PW812^LL1218^FO40,40^A0N,50,50^FDCarrier label (example)^FS^FO40,120^GB730,4,4^FS" +
	"^FO40,160^A0N,32,28^FDThe carrier's own ZPL is printed here,^FS^FO40,200^A0N,32,28^FDas the shipping service sends it.^FS" +
	"^FO60,300^BY3^BCN,200,Y,N,N^FD3SEDGE0000001^FS^FO60,600^A0N,36,30^FDOrder ORD-2024-00174^FS^XZ"

// templatePNG draws a template with its sample data.
func (s *Server) templatePNG(w http.ResponseWriter, r *http.Request) {
	tag, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	var t *zpl.Template
	if ok && s.cfg.Templates != nil {
		t, ok = s.cfg.Templates.Get(tag)
	}
	if !ok {
		http.Error(w, "no such template", http.StatusNotFound)
		return
	}
	out, err := s.previews.get("template:"+tag, func() ([]byte, error) {
		var data []byte
		var err error
		if t.PassThrough() && t.Sample == nil {
			data = []byte(carrierExample)
		} else if data, err = t.Render(nil, t.Sample); err != nil {
			return nil, err
		}
		return drawPNG(data, t.DPMM)
	})
	s.servePNG(w, "template "+tag, out, err)
}

// labelPNG draws a label of the ledger as it prints (or printed): the last
// label of a printer, the next of an order.
func (s *Server) labelPNG(w http.ResponseWriter, r *http.Request) {
	file, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	id, err := strconv.ParseInt(file, 10, 64)
	if !ok || err != nil || id <= 0 || s.cfg.Line == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("label %q: not a label number", r.PathValue("file"))})
		return
	}
	out, err := s.previews.get("label:"+file, func() ([]byte, error) {
		p, err := s.cfg.Line.Ledger.LabelZPL(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return drawPNG(p.ZPL, p.DPMM)
	})
	s.servePNG(w, "label "+file, out, err)
}

// orderLabelPNG draws the label an order prints: its next label, else its
// first, else (no labels made yet) a sample with its data.
func (s *Server) orderLabelPNG(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Line == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no label orders here"})
		return
	}
	ctx, orderID := r.Context(), r.PathValue("id")
	id, err := s.cfg.Line.Ledger.OrderLabel(ctx, orderID)
	if err == nil && id > 0 {
		http.Redirect(w, r, fmt.Sprintf("/labels/%d.png", id), http.StatusFound)
		return
	}
	var out []byte
	if err == nil {
		out, err = s.orderSample(ctx, orderID)
	}
	s.servePNG(w, "label order "+orderID, out, err)
}

func (s *Server) orderSample(ctx context.Context, orderID string) ([]byte, error) {
	p, err := s.cfg.Line.Orders.Sample(ctx, orderID)
	if err != nil {
		return nil, err
	}
	return drawPNG(p.ZPL, p.DPMM)
}

func drawPNG(data []byte, dpmm int) ([]byte, error) {
	img, _, err := zpl.Preview(data, zpl.PreviewOptions{DPMM: dpmm})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = png.Encode(&buf, img)
	return buf.Bytes(), err
}

// servePNG answers a preview, or why there is none: 404 for an unknown
// label or order, 422 for one that does not draw.
func (s *Server) servePNG(w http.ResponseWriter, what string, out []byte, err error) {
	switch {
	case errors.Is(err, ledger.ErrLabelNotFound), errors.Is(err, orders.ErrLabelOrderNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	case err != nil:
		s.log.Warn().Err(err).Str("preview", what).Msg("preview")
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": what + " has no preview: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=60")
	_, _ = w.Write(out)
}

// previewCache keeps the previews drawn: drawing one costs a millisecond
// of CPU, and a page of them asked for again and again must not take the
// line PC's cores from its stations. It keeps at most maxPreviews; past
// that it starts again.
type previewCache struct {
	mu   sync.Mutex
	pngs map[string][]byte
}

const maxPreviews = 256

func (c *previewCache) get(key string, draw func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock() // one drawing at a time, whoever asks
	if b, ok := c.pngs[key]; ok {
		return b, nil
	}
	b, err := draw()
	if err != nil {
		return nil, err
	}
	if c.pngs == nil || len(c.pngs) >= maxPreviews {
		c.pngs = map[string][]byte{}
	}
	c.pngs[key] = b
	return b, nil
}
