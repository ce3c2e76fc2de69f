package kescore

import (
	"errors"
	"net/http"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series kms-go's Client.Metrics reads. Each
// family has exactly one series (no labels), as the client requires.
type metrics struct {
	reg                       *prometheus.Registry
	success, errors, failures prometheus.Counter
	active                    prometheus.Gauge
	auditEvents, errorEvents  prometheus.Counter
	responseTime              prometheus.Histogram
	handler                   http.Handler
}

func newMetrics(start time.Time) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	memStats := func(f func(*runtime.MemStats) uint64) func() float64 {
		return func() float64 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(f(&ms))
		}
	}
	m.success = counter("kes_http_request_success", "Number of requests that have been served successfully.")
	m.errors = counter("kes_http_request_error", "Number of request that failed due to some error. (HTTP 4xx status code)")
	m.failures = counter("kes_http_request_failure", "Number of request that failed due to some internal failure. (HTTP 5xx status code)")
	m.active = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kes_http_request_active", Help: "Number of active requests that are not finished, yet."})
	m.reg.MustRegister(m.active)
	m.auditEvents = counter("kes_log_audit_events", "Number of audit log events written to the audit log targets.")
	m.errorEvents = counter("kes_log_error_events", "Number of error log events written to the error log targets.")
	m.responseTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "kes_http_response_time",
		Help:    "Histogram of request response times spawning from 10ms to 10s.",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 3.0, 5.0, 10.0},
	})
	m.reg.MustRegister(m.responseTime)
	gauge("kes_system_up_time", "The time the server has been up and running in seconds.", func() float64 { return time.Since(start).Round(time.Second).Seconds() })
	gauge("kes_system_num_cpu", "The number of logical CPUs available on the system.", func() float64 { return float64(runtime.NumCPU()) })
	gauge("kes_system_num_cpu_used", "The number of logical CPUs usable by the server.", func() float64 { return float64(runtime.GOMAXPROCS(0)) })
	gauge("kes_system_num_threads", "The number of concurrently running threads.", func() float64 { return float64(pprof.Lookup("threadcreate").Count()) })
	gauge("kes_system_mem_heap_used", "The number of bytes that are currently allocated on the heap memory.", memStats(func(ms *runtime.MemStats) uint64 { return ms.HeapAlloc }))
	gauge("kes_system_mem_heap_objects", "The number of objects that are currently allocated on the heap memory.", memStats(func(ms *runtime.MemStats) uint64 { return ms.HeapObjects }))
	gauge("kes_system_mem_stack_used", "The number of bytes that are currently used on the stack memory.", memStats(func(ms *runtime.MemStats) uint64 { return ms.StackSys }))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observe(status int, elapsed time.Duration) {
	switch {
	case status >= 500:
		m.failures.Inc()
	case status >= 400:
		m.errors.Inc()
	default:
		m.success.Inc()
	}
	m.responseTime.Observe(elapsed.Seconds())
}

func (s *Server) serveMetrics(w http.ResponseWriter, req *apiRequest) {
	s.metrics.handler.ServeHTTP(w, req.Request)
}

func (s *Server) version(w http.ResponseWriter, _ *apiRequest) {
	writeJSON(w, http.StatusOK, struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}{s.cfg.Version, s.cfg.Commit})
}

func (s *Server) ready(w http.ResponseWriter, req *apiRequest) {
	err := s.Ready(req.Context())
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, ErrStoreUnreachable):
		s.writeError(w, req.Request, err, &apiError{http.StatusGatewayTimeout, "key store is not reachable"})
	default:
		s.writeError(w, req.Request, err, &apiError{http.StatusBadGateway, "key store is unavailable"})
	}
}

// statusResponse is /v1/status. kms-go v0.3.1 rejects keystore_unreachable
// without keystore_unavailable, so both are sent when the store is down.
type statusResponse struct {
	Version             string  `json:"version"`
	OS                  string  `json:"os"`
	Arch                string  `json:"arch"`
	UpTime              float64 `json:"uptime"`
	CPUs                int     `json:"num_cpu"`
	UsableCPUs          int     `json:"num_cpu_used"`
	HeapAlloc           uint64  `json:"mem_heap_used"`
	StackAlloc          uint64  `json:"mem_stack_used"`
	KeyStoreLatency     int64   `json:"keystore_latency"` // milliseconds, >= 1 when reachable
	KeyStoreUnreachable bool    `json:"keystore_unreachable,omitempty"`
	KeyStoreUnavailable bool    `json:"keystore_unavailable,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, req *apiRequest) {
	resp := statusResponse{
		Version:    s.cfg.Version,
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		UpTime:     time.Since(s.start).Round(time.Second).Seconds(),
		CPUs:       runtime.NumCPU(),
		UsableCPUs: runtime.GOMAXPROCS(0),
	}
	latency, err := s.cache.status(req.Context())
	if err != nil {
		resp.KeyStoreUnreachable, resp.KeyStoreUnavailable = true, true
	} else {
		resp.KeyStoreLatency = max(latency.Round(time.Millisecond).Milliseconds(), 1)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	resp.HeapAlloc, resp.StackAlloc = ms.HeapAlloc, ms.StackSys
	writeJSON(w, http.StatusOK, resp)
}

// listAPIs describes the route table (/v1/api).
func (s *Server) listAPIs(w http.ResponseWriter, _ *apiRequest) {
	type api struct {
		Method  string `json:"method"`
		Path    string `json:"path"`
		MaxBody int64  `json:"max_body"`
		Timeout int64  `json:"timeout"`
	}
	out := make([]api, 0, len(s.table))
	for _, rt := range s.table {
		out = append(out, api{rt.Method, rt.Path, rt.MaxBody, int64(rt.Timeout / time.Second)})
	}
	writeJSON(w, http.StatusOK, out)
}
