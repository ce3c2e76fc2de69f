package s3lite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// Server access logging: every request a logged bucket serves becomes one record in S3's
// server access log format; the records of a source bucket are buffered in memory and
// written as one log object into the target bucket once Config.AccessLogRollTime has
// passed since the first of them. That happens at the next request to the source bucket,
// at the background tick, or on Close. S3 delivers within hours and makes no promise;
// kmsbox rolls after seconds, so that a client can read its logs back. The log objects
// are written through PutObject's path as the bucket owner: encrypted at rest as any
// object of the target bucket. Records still buffered when the process dies are lost,
// as S3 documents that some records may be.

// defaultLogRollTime is Config.AccessLogRollTime's default.
const defaultLogRollTime = 5 * time.Second

// accessLog holds the logged buckets and their buffered records.
type accessLog struct {
	roll time.Duration
	// sources maps each logged source bucket to its log; replaced whole (copy on write)
	// under mu, so that the request path reads it without a lock.
	sources atomic.Pointer[map[string]*logSource]
	mu      sync.Mutex

	roller *ticking // the background roll
}

// logSource is one logged bucket: its configuration and buffered records.
type logSource struct {
	bucket string
	cfg    bucketLogging
	mu     sync.Mutex
	first  time.Time // time of the first buffered record
	buf    []byte
}

// source returns the log of bucket; nil when it is not logged.
func (al *accessLog) source(bucket string) *logSource {
	m := al.sources.Load()
	if m == nil || bucket == "" {
		return nil
	}
	return (*m)[bucket]
}

// set replaces the log of bucket (cfg nil: removes it) and returns the one it replaced.
func (al *accessLog) set(bucket string, cfg *bucketLogging) *logSource {
	al.mu.Lock()
	defer al.mu.Unlock()
	old := map[string]*logSource{}
	if m := al.sources.Load(); m != nil {
		old = *m
	}
	next := make(map[string]*logSource, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	prev := next[bucket]
	delete(next, bucket)
	if cfg != nil {
		next[bucket] = &logSource{bucket: bucket, cfg: *cfg}
	}
	al.sources.Store(&next)
	return prev
}

// maxLogBuffer bounds the records buffered for one bucket: past it they are due at once.
const maxLogBuffer = 16 << 20

// take removes and returns the buffered records of src when force or when they are
// due at now; nil when there is nothing to write.
func (src *logSource) take(now time.Time, roll time.Duration, force bool) (data []byte, first time.Time) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.buf) == 0 || !force && now.Sub(src.first) < roll && len(src.buf) < maxLogBuffer {
		return nil, time.Time{}
	}
	data, first = src.buf, src.first
	src.buf = nil
	return data, first
}

// add appends one record.
func (src *logSource) add(rec []byte, at time.Time) {
	src.mu.Lock()
	if len(src.buf) == 0 {
		src.first = at
	}
	src.buf = append(src.buf, rec...)
	src.mu.Unlock()
}

// startAccessLog loads the logged buckets and starts the background roll; ticks (tests)
// replaces its ticker.
func (s *Server) startAccessLog(ctx context.Context, ticks <-chan time.Time) error {
	al := &accessLog{roll: s.cfg.AccessLogRollTime}
	if al.roll == 0 {
		al.roll = defaultLogRollTime
	}
	s.alog = al
	bis, err := s.st.listBuckets(ctx)
	if err != nil {
		return err
	}
	for _, bi := range bis {
		if bi.Logging != nil {
			al.set(bi.Name, bi.Logging)
		}
	}
	al.roller = startTicking(max(al.roll/5, 100*time.Millisecond), ticks, func() { s.rollLogs(false) })
	return nil
}

// closeAccessLog stops the background roll and writes every buffered record.
func (s *Server) closeAccessLog() {
	s.alog.roller.close()
	s.rollLogs(true)
}

// rollLogs writes the records of every logged bucket that are due (force: all of them).
func (s *Server) rollLogs(force bool) {
	m := s.alog.sources.Load()
	if m == nil {
		return
	}
	for _, src := range *m {
		s.rollLog(src, force)
	}
}

// rollLog writes the records of src if they are due (force: if any).
func (s *Server) rollLog(src *logSource, force bool) {
	now := s.now().UTC()
	data, first := src.take(now, s.alog.roll, force)
	if data == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.deliverLog(ctx, src.bucket, &src.cfg, data, first, now); err != nil {
		s.log.Warn("s3: access log records dropped", "bucket", src.bucket, "target", src.cfg.Target, "records", bytes.Count(data, []byte("\n")), "err", err)
	}
}

// configureAccessLog applies the new logging configuration cfg (nil: off) of bucket; the
// records buffered under the old one go to its target.
func (s *Server) configureAccessLog(bucket string, cfg *bucketLogging) {
	if prev := s.alog.set(bucket, cfg); prev != nil {
		s.rollLog(prev, true)
	}
}

// deliverLog writes data, records of the source bucket src logged under cfg since first,
// as a new log object of cfg's target bucket, if its policy still allows the delivery.
func (s *Server) deliverLog(ctx context.Context, src string, cfg *bucketLogging, data []byte, first, now time.Time) error {
	tb, err := s.st.getBucket(ctx, cfg.Target)
	if err != nil {
		return err
	}
	if !s.logDeliveryAllowed(&tb, src, cfg.Prefix) {
		return errAccessDenied
	}
	key := logObjectKey(cfg, s.owner(&request{}).ID, s.cfg.Region, src, first, now)
	r, err := http.NewRequestWithContext(ctx, http.MethodPut, "/"+cfg.Target+"/"+key, nil)
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "text/plain")
	q := &request{r: r, bucket: cfg.Target, key: key, body: bytes.NewReader(data),
		auth: &sigv4.Auth{AccessKey: s.root, ContentLength: int64(len(data))}}
	var w logSink
	if err := s.putObject(&w, q); err != nil {
		return err
	}
	return nil
}

// logObjectKey names a log object: SimplePrefix
// [TargetPrefix]YYYY-mm-DD-HH-MM-SS-UniqueString, or PartitionedPrefix
// [TargetPrefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/YYYY/MM/DD/YYYY-mm-DD-HH-MM-SS-UniqueString
// (the date of the partition is the first record's with EventTime, else now's).
func logObjectKey(cfg *bucketLogging, account, region, src string, first, now time.Time) string {
	var u [8]byte
	_, _ = rand.Read(u[:])
	name := now.UTC().Format("2006-01-02-15-04-05-") + strings.ToUpper(hex.EncodeToString(u[:]))
	if !cfg.Partitioned {
		return cfg.Prefix + name
	}
	day := now
	if cfg.DateSource == "EventTime" {
		day = first
	}
	return cfg.Prefix + account + "/" + region + "/" + src + "/" + day.UTC().Format("2006/01/02/") + name
}

// logSink is the response writer of an internal write: the answer goes nowhere.
type logSink struct{ h http.Header }

func (w *logSink) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *logSink) Write(p []byte) (int, error) { return len(p), nil }
func (w *logSink) WriteHeader(int)             {}

// logEntry is what serveHTTP knows of a request to a logged bucket.
type logEntry struct {
	rt          *route
	q           *request
	rw          *trackingWriter
	bucket, key string // what the record is about: q's, or a copy's source
	op          string // the operation; "" follows from rt
	start       time.Time
	err         error
	reqID       string
	src         *logSource
}

// startLog returns the log entries of a request about to be served: one for its bucket
// and, for a copy, one (REST.COPY.OBJECT_GET) for the source bucket, if logged; nil when
// none is. The due records of those buckets go out first.
func (s *Server) startLog(rt *route, q *request, rw *trackingWriter) []*logEntry {
	if m := s.alog.sources.Load(); m == nil || len(*m) == 0 {
		return nil
	}
	var out []*logEntry
	add := func(bucket, key, op string) {
		src := s.alog.source(bucket)
		if src == nil {
			return
		}
		s.rollLog(src, false)
		out = append(out, &logEntry{rt: rt, q: q, rw: rw, bucket: bucket, key: key, op: op, start: s.now(),
			reqID: rw.Header().Get("x-amz-request-id"), src: src})
	}
	add(q.bucket, q.key, "")
	if rt.header == "x-amz-copy-source" {
		if b, k, ok := copySourceName(q.r.Header.Get(rt.header)); ok {
			add(b, k, "REST.COPY.OBJECT_GET")
		}
	}
	return out
}

// endLog buffers the records of the finished request of logs, which ended with err.
func (s *Server) endLog(logs []*logEntry, err error) {
	for _, e := range logs {
		e.err = err
		s.logRequest(e)
	}
}

// logRequest buffers the record of e, under its bucket's logging configuration as it is now.
func (s *Server) logRequest(e *logEntry) {
	if e.rt.name == "DeleteBucket" && e.err == nil {
		s.alog.set(e.bucket, nil)
	}
	rec := s.logRecord(e, s.now().UTC())
	cur := s.alog.source(e.bucket)
	if cur == nil {
		// Logging ended with this request (turned off, bucket deleted): the last
		// records go out now.
		e.src.add(rec, e.start)
		s.rollLog(e.src, true)
		return
	}
	cur.add(rec, e.start)
}
