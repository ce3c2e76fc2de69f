package s3lite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// Config is the live configuration of an S3 server. Parsing flags and the
// environment (MINIO_ROOT_USER, MINIO_KMS_*, ...) is the appliance's job.
type Config struct {
	// Dir holds object bodies and metadata (the appliance passes <data-dir>/s3). Required.
	Dir string
	// Credentials maps access keys to secret keys. At least one pair is required.
	Credentials map[string]string
	// Region is the region signatures must be scoped to; "" means "us-east-1".
	Region string
	// Domain enables virtual-hosted-style requests: a Host of
	// "<bucket>.<Domain>" addresses <bucket>. "" means path-style only.
	Domain string
	// KMS seals object keys for SSE-S3 and SSE-KMS. nil means no KMS: such
	// requests answer 501 NotImplemented (SSE-C still works).
	KMS KMS
	// DefaultKeyID is the KMS key for SSE-S3 and for SSE-KMS without a key
	// id; "" means "minio-key-1".
	DefaultKeyID string
	// AutoEncrypt encrypts every upload without SSE headers and without a
	// bucket default as SSE-S3 (MINIO_KMS_AUTO_ENCRYPTION=on). Needs KMS.
	AutoEncrypt bool
	// Logger receives request errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for signatures and timestamps; nil means time.Now.
	Now func() time.Time
	// BodyIdle is how long a request body may go without a byte before the read fails and
	// the request gets 400 RequestTimeout; zero means httproute.DefaultBodyIdle (30 s), negative none.
	BodyIdle time.Duration
	// UploadExpiry is the age past which an unfinished multipart upload is aborted by a
	// background sweep (run every quarter of it, at most every hour, which also applies
	// the buckets' lifecycle rules); zero means 24 h, as MinIO's stale upload cleanup.
	UploadExpiry time.Duration
	// AccessLogRollTime is how long server access log records of a bucket are buffered
	// before they are written as one log object into the target bucket (accesslog.go);
	// zero means 5 s. S3 itself delivers logs within hours.
	AccessLogRollTime time.Duration

	// logTicks, when set (tests), drives the background access log roll instead of a ticker.
	logTicks <-chan time.Time
	// sweepTicks, when set (tests), drives the background sweeper instead of a ticker.
	sweepTicks <-chan time.Time
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("s3lite: Config.Dir is required"))
	}
	if len(c.Credentials) == 0 {
		errs = append(errs, errors.New("s3lite: Config.Credentials needs at least one access key"))
	}
	for ak, sk := range c.Credentials {
		if len(ak) < 3 {
			errs = append(errs, fmt.Errorf("s3lite: access key %q is shorter than 3 characters", ak))
		}
		if len(sk) < 8 {
			errs = append(errs, fmt.Errorf("s3lite: secret key of %q is shorter than 8 characters", ak))
		}
	}
	if c.AutoEncrypt && c.KMS == nil {
		errs = append(errs, errors.New("s3lite: Config.AutoEncrypt needs a KMS"))
	}
	if c.AccessLogRollTime < 0 {
		errs = append(errs, fmt.Errorf("s3lite: Config.AccessLogRollTime %v is negative", c.AccessLogRollTime))
	}
	if c.UploadExpiry < 0 {
		errs = append(errs, fmt.Errorf("s3lite: Config.UploadExpiry %v is negative", c.UploadExpiry))
	}
	if strings.ContainsAny(c.Domain, "/: ") {
		errs = append(errs, fmt.Errorf("s3lite: Config.Domain %q must be a bare host name", c.Domain))
	}
	return errors.Join(errs...)
}

// Server is an S3 server over one data directory.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	st       *store
	dmg      *damageLog       // names each damaged object once
	keys     *keyring         // the store key (storekey.go)
	chunks   chunkPool        // body buffers shared by all requests
	seals    bufPool[sealBuf] // the buffers encrypted uploads seal into
	md5      md5Lanes         // the ETag MD5 of upload bodies
	verifier *sigv4.Verifier
	handler  http.Handler
	// maxObject bounds the body of object data routes (PutObject, UploadPart):
	// maxObjectSize; tests make it small.
	maxObject int64

	// root is the access key that owns everything in answers to anonymous requests (the
	// first of Config.Credentials in sort order).
	root     string
	policies policyCache // parsed bucket policies (authz.go)

	sweeper   *uploadSweeper
	alog      *accessLog // server access logging (accesslog.go)
	closeOnce sync.Once
	closeErr  error
}

// Open validates cfg, opens (or creates) the store under cfg.Dir, removes
// leftovers of interrupted uploads, and returns a server ready to serve.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.DefaultKeyID == "" {
		cfg.DefaultKeyID = "minio-key-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	creds := make(map[string]string, len(cfg.Credentials))
	root := ""
	for k, v := range cfg.Credentials {
		creds[k] = v
		if root == "" || k < root {
			root = k
		}
	}
	cfg.Credentials = creds
	dmg := &damageLog{log: func(bucket, key string, err error) {
		if key == "" {
			cfg.Logger.Error("s3: damaged bucket record", "bucket", bucket, "err", err)
			return
		}
		cfg.Logger.Error("s3: damaged object", "bucket", bucket, "key", key, "err", err)
	}}
	st, err := openStore(ctx, cfg.Dir, dmg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, st: st, dmg: dmg, maxObject: maxObjectSize, root: root}
	s.keys = &keyring{db: st.db, kms: cfg.KMS, keyID: cfg.DefaultKeyID, warn: cfg.Logger.Warn, loaded: st.migrateObjectMACs}
	st.keys = s.keys
	st.now = s.now
	if cfg.KMS == nil {
		// Without a KMS the key is at hand: give older records their MACs now. With
		// one, the first object operation does (keyring.get), so that Open needs no KMS.
		if _, err := s.keys.get(ctx); err != nil {
			st.close()
			return nil, err
		}
	}
	s.verifier = &sigv4.Verifier{
		Region: cfg.Region,
		Secret: func(ak string) (string, bool) {
			sk, ok := creds[ak]
			return sk, ok
		},
		Now:     cfg.Now,
		MaxSkew: 15 * time.Minute,
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	if err := s.startAccessLog(ctx, cfg.logTicks); err != nil {
		st.close()
		return nil, err
	}
	s.sweeper = s.startUploadSweeper(cfg.sweepTicks)
	return s, nil
}

// Handler returns the S3 API handler, health endpoints included.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the metadata store. In-flight requests must be finished
// (the caller shuts its http.Server down first).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.sweeper.close()
		s.closeAccessLog() // writes the last log objects: before the store closes
		s.closeErr = s.st.close()
	})
	return s.closeErr
}
