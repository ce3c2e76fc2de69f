package kescore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// multicast fans log lines out to the subscribed /v1/log/* streams. A slow
// subscriber loses lines rather than blocking requests.
type multicast struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func newMulticast() *multicast { return &multicast{subs: map[chan []byte]struct{}{}} }

func (m *multicast) subscribe() chan []byte {
	ch := make(chan []byte, 256)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	return ch
}

func (m *multicast) unsubscribe(ch chan []byte) {
	m.mu.Lock()
	delete(m.subs, ch)
	m.mu.Unlock()
}

func (m *multicast) active() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs) > 0
}

func (m *multicast) send(line []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- line:
		default:
		}
	}
}

// teeHandler passes records to the configured handler and streams them to
// /v1/log/error subscribers as {"message":...} lines.
type teeHandler struct {
	next  slog.Handler
	out   *multicast
	count func()
	attrs string
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.count()
		if h.out.active() {
			var sb strings.Builder
			sb.WriteString(r.Message)
			sb.WriteString(h.attrs)
			r.Attrs(func(a slog.Attr) bool {
				fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value)
				return true
			})
			line, _ := json.Marshal(struct {
				Message string `json:"message"`
			}{sb.String()})
			h.out.send(append(line, '\n'))
		}
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var sb strings.Builder
	sb.WriteString(h.attrs)
	for _, a := range as {
		fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value)
	}
	return &teeHandler{next: h.next.WithAttrs(as), out: h.out, count: h.count, attrs: sb.String()}
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{next: h.next.WithGroup(name), out: h.out, count: h.count, attrs: h.attrs}
}

// auditEvent is one line of /v1/log/audit, in the shape kms-go decodes.
type auditEvent struct {
	Time    time.Time `json:"time"`
	Request struct {
		IP       string `json:"ip,omitempty"`
		Path     string `json:"path"`
		Identity string `json:"identity,omitempty"`
	} `json:"request"`
	Response struct {
		Code int   `json:"code"`
		Time int64 `json:"time"` // milliseconds
	} `json:"response"`
}

func (s *Server) audit(r *http.Request, identity string, status int, elapsed time.Duration) {
	s.metrics.auditEvents.Inc()
	if !s.auditLog.active() && s.cfg.AuditLog == nil {
		return
	}
	var ev auditEvent
	ev.Time = time.Now().UTC()
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ev.Request.IP = host
	}
	ev.Request.Path = r.URL.Path
	ev.Request.Identity = identity
	ev.Response.Code = status
	ev.Response.Time = elapsed.Milliseconds()
	line, _ := json.Marshal(ev)
	line = append(line, '\n')
	s.auditLog.send(line)
	if s.cfg.AuditLog != nil {
		s.auditMu.Lock()
		_, _ = s.cfg.AuditLog.Write(line)
		s.auditMu.Unlock()
	}
}

// stream serves an ndjson log stream until the client goes away or the
// server closes.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, m *multicast) {
	ch := m.subscribe()
	defer m.unsubscribe(ch)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case line := <-ch:
			if _, err := w.Write(line); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

func (s *Server) logAudit(w http.ResponseWriter, req *apiRequest) {
	s.stream(w, req.Request, s.auditLog)
}

func (s *Server) logError(w http.ResponseWriter, req *apiRequest) {
	s.stream(w, req.Request, s.errorLog)
}
