package embeddedvault

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/shamir"
)

// initResult is what sys/init returns once: the shares and the root token.
type initResult struct {
	Keys      []string `json:"keys"`
	KeysB64   []string `json:"keys_base64"`
	RootToken string   `json:"root_token"`
}

// initialize runs sys/init: it creates the barrier, splits the root key,
// sets up mounts, policies and the root token and seals again (the root
// key exists only in the returned shares).
func (s *Server) initialize(ctx context.Context, shares, threshold int, rootTokenID string) (*initResult, []byte, error) {
	switch {
	case shares < 1:
		return nil, nil, badRequest("invalid seal configuration: shares must be at least one")
	case threshold < 1:
		return nil, nil, badRequest("invalid seal configuration: threshold must be at least one")
	case threshold > shares:
		return nil, nil, badRequest("invalid seal configuration: threshold cannot be larger than shares")
	case shares > 255:
		return nil, nil, badRequest("invalid seal configuration: shares must be less than 256")
	case shares > 1 && threshold == 1:
		return nil, nil, badRequest("invalid seal configuration: threshold must be greater than one for multiple shares")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var fixedRoot []byte
	if s.cfg.Dev && shares == 1 {
		fixedRoot = s.cfg.DevRootKey
	}
	root, err := s.barrier.initialize(ctx, sealConfig{Type: "shamir", SecretShares: shares, SecretThreshold: threshold}, fixedRoot)
	if err != nil {
		return nil, nil, err
	}
	var parts [][]byte
	if shares == 1 {
		parts = [][]byte{root}
	} else if parts, err = shamir.Split(root, shares, threshold); err != nil {
		return nil, nil, err
	}
	if err := s.barrier.unseal(ctx, root); err != nil {
		return nil, nil, err
	}
	// The barrier is open only to write the initial records; the state is
	// never published, so no request is served in between.
	defer s.sealLocked()
	st, err := s.loadState(ctx)
	if err != nil {
		return nil, nil, err
	}
	tok, err := st.tokens.createRoot(ctx, rootTokenID)
	if err != nil {
		return nil, nil, err
	}
	res := &initResult{RootToken: tok}
	for _, p := range parts {
		res.Keys = append(res.Keys, hex.EncodeToString(p))
		res.KeysB64 = append(res.KeysB64, base64.StdEncoding.EncodeToString(p))
	}
	return res, root, nil
}

func (s *Server) initStatus(ctx context.Context, _ *request) (*response, error) {
	ok, _, err := s.initialized(ctx)
	if err != nil {
		return nil, err
	}
	return &response{bare: map[string]any{"initialized": ok}}, nil
}

func (s *Server) initHandler(ctx context.Context, r *request) (*response, error) {
	if len(r.data) == 0 {
		return nil, badRequest("failed to parse JSON input: empty request body")
	}
	shares, err := intField(r.data, "secret_shares", 0)
	if err != nil {
		return nil, err
	}
	threshold, err := intField(r.data, "secret_threshold", 0)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"pgp_keys", "root_token_pgp_key", "recovery_pgp_keys"} {
		if v, ok := r.data[k]; ok && v != nil && v != "" {
			if l, isList := v.([]any); !isList || len(l) > 0 {
				return nil, badRequest("%s is not supported", k)
			}
		}
	}
	res, root, err := s.initialize(ctx, shares, threshold, "")
	if err != nil {
		return nil, err
	}
	clear(root)
	s.log.Info("embeddedvault: initialized", "shares", shares, "threshold", threshold)
	return &response{bare: res}, nil
}

// sealStatus is the body of sys/seal-status and sys/unseal.
type sealStatus struct {
	Type         string `json:"type"`
	Initialized  bool   `json:"initialized"`
	Sealed       bool   `json:"sealed"`
	T            int    `json:"t"`
	N            int    `json:"n"`
	Progress     int    `json:"progress"`
	Nonce        string `json:"nonce"`
	Version      string `json:"version"`
	BuildDate    string `json:"build_date"`
	Migration    bool   `json:"migration"`
	ClusterName  string `json:"cluster_name,omitempty"`
	ClusterID    string `json:"cluster_id,omitempty"`
	RecoverySeal bool   `json:"recovery_seal"`
	StorageType  string `json:"storage_type"`
}

func (s *Server) status(ctx context.Context) (*sealStatus, error) {
	ok, c, err := s.initialized(ctx)
	if err != nil {
		return nil, err
	}
	st := &sealStatus{Type: "shamir", Initialized: ok, Sealed: s.Sealed(), Version: s.cfg.Version,
		BuildDate: "2026-01-01T00:00:00Z", StorageType: "bbolt"}
	if c != nil {
		st.T, st.N = c.SecretThreshold, c.SecretShares
	}
	s.mu.Lock()
	st.Progress, st.Nonce = len(s.shares), s.unsealNonce
	clusterID := s.clusterID
	s.mu.Unlock()
	if !st.Sealed {
		st.ClusterName, st.ClusterID = s.cfg.ClusterName, clusterID
	}
	return st, nil
}

func (s *Server) sealStatus(ctx context.Context, _ *request) (*response, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	return &response{bare: st}, nil
}

// decodeShare accepts a share in hex first, then base64.
func decodeShare(key string) ([]byte, error) {
	if b, err := hex.DecodeString(key); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(key); err == nil {
		return b, nil
	}
	return nil, badRequest("'key' must be a valid hex or base64 string")
}

func (s *Server) unsealHandler(ctx context.Context, r *request) (*response, error) {
	ok, c, err := s.initialized(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, withMessage(ErrNotInitialized, "Vault is not initialized")
	}
	reset, err := boolField(r.data, "reset", false)
	if err != nil {
		return nil, err
	}
	key, _ := r.data["key"].(string)
	switch {
	case reset:
		if !s.Sealed() {
			return nil, badRequest("vault is unsealed")
		}
		s.mu.Lock()
		s.resetUnsealLocked()
		s.mu.Unlock()
	case key == "":
		return nil, badRequest("'key' must be specified in request body as JSON, or 'reset' set to true")
	case !s.Sealed():
	default:
		share, err := decodeShare(key)
		if err != nil {
			return nil, err
		}
		if err := s.addShare(ctx, c, share); err != nil {
			return nil, err
		}
	}
	return s.sealStatus(ctx, r)
}

// addShare records one share of the current attempt and unseals once the
// threshold is reached. A wrong combination resets the attempt.
func (s *Server) addShare(ctx context.Context, c *sealConfig, share []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Sealed() {
		return nil
	}
	for _, have := range s.shares {
		if subtle.ConstantTimeCompare(have, share) == 1 {
			return nil // duplicate: progress unchanged, as Vault does
		}
	}
	if s.unsealNonce == "" {
		s.unsealNonce = uuid.NewString()
	}
	s.shares = append(s.shares, share)
	if len(s.shares) < c.SecretThreshold {
		return nil
	}
	var root []byte
	if c.SecretThreshold == 1 {
		root = append([]byte(nil), s.shares[0]...)
	} else {
		var err error
		if root, err = shamir.Combine(s.shares); err != nil {
			s.resetUnsealLocked()
			return ErrInvalidKey
		}
	}
	defer clear(root)
	s.resetUnsealLocked()
	if err := s.barrier.unseal(ctx, root); err != nil {
		return err
	}
	if err := s.postUnseal(ctx); err != nil {
		s.sealLocked()
		return err
	}
	s.log.Info("embeddedvault: unsealed")
	return nil
}

func (s *Server) sealHandler(ctx context.Context, _ *request) (*response, error) {
	s.mu.Lock()
	s.sealLocked()
	s.mu.Unlock()
	s.log.Info("embeddedvault: sealed by request")
	if s.cfg.OnSeal != nil {
		s.cfg.OnSeal(ctx)
	}
	return nil, nil
}

// healthBody is the body of sys/health.
type healthBody struct {
	Initialized        bool   `json:"initialized"`
	Sealed             bool   `json:"sealed"`
	Standby            bool   `json:"standby"`
	PerformanceStandby bool   `json:"performance_standby"`
	ReplicationPerf    string `json:"replication_performance_mode"`
	ReplicationDR      string `json:"replication_dr_mode"`
	ServerTimeUTC      int64  `json:"server_time_utc"`
	Version            string `json:"version"`
	ClusterName        string `json:"cluster_name,omitempty"`
	ClusterID          string `json:"cluster_id,omitempty"`
}

func (s *Server) health(ctx context.Context, r *request) (*response, error) {
	code := func(name string, def int) (int, error) {
		v := r.query.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			return 0, badRequest("bad code: %s", v)
		}
		return n, nil
	}
	// Validate every override, even those the state does not select.
	codes := map[string]int{"uninitcode": 501, "sealedcode": 503, "drsecondarycode": 472,
		"performancestandbycode": 473, "standbycode": 429, "activecode": 200}
	for name, def := range codes {
		n, err := code(name, def)
		if err != nil {
			return nil, err
		}
		codes[name] = n
	}
	for _, b := range []string{"standbyok", "perfstandbyok"} {
		if v := r.query.Get(b); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				return nil, badRequest("bad value for %s parameter: %s", b, v)
			}
		}
	}
	ok, _, err := s.initialized(ctx)
	if err != nil {
		return nil, err
	}
	body := healthBody{Initialized: ok, Sealed: s.Sealed(), ReplicationPerf: "disabled",
		ReplicationDR: "disabled", ServerTimeUTC: time.Now().Unix(), Version: s.cfg.Version}
	status := codes["activecode"]
	switch {
	case !ok:
		status = codes["uninitcode"]
	case body.Sealed:
		status = codes["sealedcode"]
	default:
		s.mu.Lock()
		body.ClusterName, body.ClusterID = s.cfg.ClusterName, s.clusterID
		s.mu.Unlock()
	}
	return &response{bare: body, status: status, noBody: r.method == http.MethodHead}, nil
}

func (s *Server) leader(_ context.Context, _ *request) (*response, error) {
	return &response{bare: map[string]any{
		"ha_enabled": false, "is_self": false, "leader_address": "", "leader_cluster_address": "",
		"performance_standby": false, "performance_standby_last_remote_wal": 0,
	}}, nil
}
