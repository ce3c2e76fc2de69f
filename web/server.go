package web

import (
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
)

// defaultSessionTTL is how long a login lasts when Config.SessionTTL is zero.
const defaultSessionTTL = 12 * time.Hour

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is the runtime configuration of a Server.
type Config struct {
	// Source reports what the console shows and checks the links of a chain. Required.
	Source Source

	// AccessKey and SecretKey are the credentials the login form accepts: the S3 root
	// credentials, as MinIO's console takes them. Both required.
	AccessKey, SecretKey string

	// SessionTTL is how long a login lasts; the session is dropped once it has passed.
	// Zero means 12 hours. Negative is an error.
	SessionTTL time.Duration

	// Logger receives failed logins (address only) and 500 answers at Warn. Nil discards.
	Logger *slog.Logger

	// Now is the clock sessions expire and login attempts refill by. Nil means time.Now.
	Now func() time.Time

	// BodyIdle is how long a request body may go without a byte before the read fails and
	// the request gets 400; zero means httproute.DefaultBodyIdle (30 s), negative none.
	BodyIdle time.Duration
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Source == nil {
		errs = append(errs, errors.New("web: Source is required"))
	}
	if c.AccessKey == "" {
		errs = append(errs, errors.New("web: AccessKey is required"))
	}
	if c.SecretKey == "" {
		errs = append(errs, errors.New("web: SecretKey is required"))
	}
	if c.SessionTTL < 0 {
		errs = append(errs, fmt.Errorf("web: SessionTTL %v is negative", c.SessionTTL))
	}
	return errors.Join(errs...)
}

// Server is the console: an http.Handler over a Source, with its login sessions.
// It starts no goroutines.
type Server struct {
	source   Source
	log      *slog.Logger
	sessions *sessions
	throttle *loginThrottle
	pages    map[string]*template.Template
	static   fs.FS
	csrf     *http.CrossOriginProtection
	handler  http.Handler
	bodyIdle time.Duration // Config.BodyIdle

	// accessSum and secretSum are the SHA-256 of the login credentials: the Server
	// keeps no copy of the secret key itself.
	accessSum, secretSum [sha256.Size]byte
}

// New checks cfg and builds a Server. The caller serves [Server.Handler] over TLS: the
// session cookie is Secure and is never sent over plain HTTP.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ttl := cfg.SessionTTL
	if ttl == 0 {
		ttl = defaultSessionTTL
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s := &Server{
		csrf:     http.NewCrossOriginProtection(),
		source:   cfg.Source,
		log:      logger,
		sessions: newSessions(ttl, now),
		throttle: newLoginThrottle(now),
		pages:    pages,
		static:   static,
		bodyIdle: cfg.BodyIdle,

		accessSum: sha256.Sum256([]byte(cfg.AccessKey)),
		secretSum: sha256.Sum256([]byte(cfg.SecretKey)),
	}
	s.handler = s.newHandler()
	return s, nil
}

// Handler returns the console's HTTP handler: every route of routes.go behind the
// security headers and the cross-origin check.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends every session: each later request must log in again. It does not wait for
// requests in flight; the caller shuts its http.Server down first.
func (s *Server) Close() error {
	s.sessions.clear()
	return nil
}
