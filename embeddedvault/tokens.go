package embeddedvault

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// Token storage behind the barrier. Token IDs are never stored: entries
// are keyed by HMAC-SHA256(salt, token), the salt itself barrier-encrypted.
const (
	tokenSaltKey     = "sys/token/salt"
	tokenIDPrefix    = "sys/token/id/"
	tokenAccessorPfx = "sys/token/accessor/"
)

// tokenEntry is a stored token (service tokens only).
type tokenEntry struct {
	Hash           string            `json:"hash"`
	Accessor       string            `json:"accessor"`
	Policies       []string          `json:"policies"`
	Path           string            `json:"path"`
	Meta           map[string]string `json:"meta"`
	DisplayName    string            `json:"display_name"`
	NumUses        int               `json:"num_uses"`
	CreationTime   time.Time         `json:"creation_time"`
	TTL            time.Duration     `json:"ttl"`
	MaxTTL         time.Duration     `json:"max_ttl"`
	ExplicitMaxTTL time.Duration     `json:"explicit_max_ttl"`
	Period         time.Duration     `json:"period"`
	ExpireTime     time.Time         `json:"expire_time"` // zero: never expires
	Renewable      bool              `json:"renewable"`
	Orphan         bool              `json:"orphan"`
}

func (te *tokenEntry) expired(now time.Time) bool {
	return !te.ExpireTime.IsZero() && !now.Before(te.ExpireTime)
}

// remaining is the TTL left, rounded to seconds; 0 for non-expiring tokens.
func (te *tokenEntry) remaining(now time.Time) time.Duration {
	if te.ExpireTime.IsZero() {
		return 0
	}
	d := te.ExpireTime.Sub(now).Round(time.Second)
	if d < 0 {
		return 0
	}
	return d
}

// tokenStore creates, looks up, uses, renews and revokes tokens.
type tokenStore struct {
	barrier *barrier
	cfg     Config
	salt    []byte
	now     func() time.Time
	// damaged (ErrDamaged) is set when the token salt did not read back: no token can be
	// looked up or made (the salt is kept, not replaced), while the rest of the vault serves.
	damaged error

	mu sync.Mutex // serializes read-modify-write of entries (num_uses, renew)
}

func loadTokenStore(ctx context.Context, b *barrier, cfg Config, now func() time.Time) (*tokenStore, error) {
	ts := &tokenStore{barrier: b, cfg: cfg, now: now}
	e, err := b.Get(ctx, tokenSaltKey)
	if errors.Is(err, ErrCorrupt) {
		ts.damaged = withMessage(ErrDamaged, "the token salt (%s) is damaged, no token can be used: %v", tokenSaltKey, err)
		cfg.Logger.Error("embeddedvault: token salt damaged", "key", tokenSaltKey, "err", err)
		return ts, nil
	}
	if err != nil {
		return nil, err
	}
	if e != nil {
		ts.salt = e.Value
		return ts, nil
	}
	ts.salt = make([]byte, 32)
	if _, err := rand.Read(ts.salt); err != nil {
		return nil, err
	}
	return ts, b.Put(ctx, &logical.StorageEntry{Key: tokenSaltKey, Value: ts.salt})
}

func (ts *tokenStore) hash(token string) string {
	m := hmac.New(sha256.New, ts.salt)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomBase62(n int) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		out[i] = base62[v.Int64()]
	}
	return string(out)
}

// newTokenID makes a Vault 1.10+ style service token.
func newTokenID() string { return "hvs." + randomBase62(24) }

// store writes te under the hash of id (random when empty) and returns id.
func (ts *tokenStore) store(ctx context.Context, te *tokenEntry, id string) (string, error) {
	if ts.damaged != nil {
		return "", ts.damaged
	}
	if id == "" {
		id = newTokenID()
	}
	te.Hash = ts.hash(id)
	if old, err := ts.get(ctx, te.Hash); err != nil {
		return "", err
	} else if old != nil {
		return "", badRequest("cannot create a token with a duplicate ID")
	}
	te.Accessor = randomBase62(24)
	if err := ts.barrier.putJSON(ctx, tokenIDPrefix+te.Hash, te); err != nil {
		return "", err
	}
	if err := ts.barrier.putJSON(ctx, tokenAccessorPfx+te.Accessor, te.Hash); err != nil {
		return "", err
	}
	return id, nil
}

func (ts *tokenStore) get(ctx context.Context, hash string) (*tokenEntry, error) {
	if ts.damaged != nil {
		return nil, ts.damaged
	}
	var te tokenEntry
	ok, err := ts.barrier.getJSON(ctx, tokenIDPrefix+hash, &te)
	if err != nil && (errors.Is(err, ErrCorrupt) || isJSONError(err)) {
		return nil, withMessage(ErrDamaged, "the token's entry is damaged: %v", err)
	}
	if err != nil || !ok {
		return nil, err
	}
	return &te, nil
}

// createRoot creates the root token (policy root, no TTL).
func (ts *tokenStore) createRoot(ctx context.Context, id string) (string, error) {
	te := &tokenEntry{Policies: []string{"root"}, Path: "auth/token/root", DisplayName: "root",
		CreationTime: ts.now(), Orphan: true}
	return ts.store(ctx, te, id)
}

// tokenParams are the knobs shared by login and auth/token/create.
type tokenParams struct {
	policies        []string
	noDefaultPolicy bool
	meta            map[string]string
	displayName     string
	numUses         int
	ttl             time.Duration
	maxTTL          time.Duration
	explicitMaxTTL  time.Duration
	period          time.Duration
	renewable       bool
	orphan          bool
	path            string
}

// create builds and stores a token from p; defTTL applies when p sets no
// TTL and no period.
func (ts *tokenStore) create(ctx context.Context, p tokenParams, defTTL time.Duration, id string) (string, *tokenEntry, error) {
	now := ts.now()
	pol := normalizePolicies(p.policies, !p.noDefaultPolicy)
	te := &tokenEntry{Policies: pol, Path: p.path, Meta: p.meta, DisplayName: p.displayName,
		NumUses: p.numUses, CreationTime: now, MaxTTL: p.maxTTL, ExplicitMaxTTL: p.explicitMaxTTL,
		Period: p.period, Renewable: p.renewable, Orphan: p.orphan}
	if !slices.Contains(pol, "root") || p.ttl > 0 || p.period > 0 {
		ttl := p.ttl
		switch {
		case p.period > 0:
			ttl = p.period
		case ttl == 0:
			ttl = defTTL
		}
		if p.period == 0 {
			if max := ts.maxTTL(te); ttl > max {
				ttl = max
			}
		}
		if p.explicitMaxTTL > 0 && ttl > p.explicitMaxTTL {
			ttl = p.explicitMaxTTL
		}
		te.TTL, te.ExpireTime = ttl, now.Add(ttl)
	}
	tok, err := ts.store(ctx, te, id)
	return tok, te, err
}

func (ts *tokenStore) maxTTL(te *tokenEntry) time.Duration {
	if te.MaxTTL > 0 && te.MaxTTL < ts.cfg.MaxLeaseTTL {
		return te.MaxTTL
	}
	return ts.cfg.MaxLeaseTTL
}

// createFromAuth issues the token for a backend login response.
func (ts *tokenStore) createFromAuth(ctx context.Context, a *logical.Auth, path string, defTTL time.Duration) (string, *tokenEntry, error) {
	name := a.DisplayName
	if name == "" {
		name = strings.SplitN(strings.TrimPrefix(path, "auth/"), "/", 2)[0]
	}
	return ts.create(ctx, tokenParams{
		policies: a.Policies, noDefaultPolicy: a.NoDefaultPolicy, meta: a.Metadata,
		displayName: name, numUses: a.NumUses, ttl: a.TTL, maxTTL: a.MaxTTL,
		explicitMaxTTL: a.ExplicitMaxTTL, period: a.Period, renewable: a.Renewable,
		orphan: true, path: path,
	}, defTTL, "")
}

// normalizePolicies sorts and dedupes, adding "default" unless the token
// is root or addDefault is false.
func normalizePolicies(in []string, addDefault bool) []string {
	set := map[string]bool{}
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			set[p] = true
		}
	}
	if set["root"] {
		return []string{"root"}
	}
	if addDefault {
		set["default"] = true
	}
	return sortedKeys(set)
}

// lookup returns the live entry for token or ErrPermissionDenied.
func (ts *tokenStore) lookup(ctx context.Context, token string) (*tokenEntry, error) {
	h := ts.hash(token)
	te, err := ts.get(ctx, h)
	if err != nil {
		return nil, err
	}
	if te == nil || subtle.ConstantTimeCompare([]byte(te.Hash), []byte(h)) != 1 {
		return nil, withMessage(ErrPermissionDenied, "permission denied")
	}
	if te.expired(ts.now()) {
		_ = ts.revoke(ctx, te)
		return nil, withMessage(ErrPermissionDenied, "permission denied")
	}
	return te, nil
}

// use counts one use of a limited-use token, revoking it at the last one.
func (ts *tokenStore) use(ctx context.Context, te *tokenEntry) error {
	if te.NumUses == 0 {
		return nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	cur, err := ts.get(ctx, te.Hash)
	if err != nil {
		return err
	}
	if cur == nil || cur.NumUses == 0 {
		return withMessage(ErrPermissionDenied, "permission denied")
	}
	cur.NumUses--
	te.NumUses = cur.NumUses
	if cur.NumUses == 0 {
		// Last use: the request proceeds, the token is gone afterwards.
		return ts.revoke(ctx, cur)
	}
	return ts.barrier.putJSON(ctx, tokenIDPrefix+cur.Hash, cur)
}

// renew extends te as renew-self does: periodic tokens get their period
// again, others increment (or their TTL) capped by the max TTL.
func (ts *tokenStore) renew(ctx context.Context, te *tokenEntry, increment time.Duration) (*tokenEntry, []string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	cur, err := ts.get(ctx, te.Hash)
	if err != nil {
		return nil, nil, err
	}
	if cur == nil {
		return nil, nil, withMessage(ErrPermissionDenied, "permission denied")
	}
	if cur.ExpireTime.IsZero() {
		return cur, nil, nil
	}
	if !cur.Renewable {
		return nil, nil, badRequest("lease is not renewable")
	}
	now := ts.now()
	var warnings []string
	ttl := cur.Period
	if ttl == 0 {
		ttl = increment
		if ttl == 0 {
			ttl = cur.TTL
		}
		if limit := cur.CreationTime.Add(ts.maxTTL(cur)); now.Add(ttl).After(limit) {
			ttl = limit.Sub(now)
			warnings = append(warnings, "TTL of \""+ttl.Round(time.Second).String()+"\" exceeded the effective max_ttl; TTL value is capped accordingly")
		}
	}
	if cur.ExplicitMaxTTL > 0 {
		if limit := cur.CreationTime.Add(cur.ExplicitMaxTTL); now.Add(ttl).After(limit) {
			ttl = limit.Sub(now)
		}
	}
	if ttl < 0 {
		ttl = 0
	}
	cur.ExpireTime = now.Add(ttl)
	if err := ts.barrier.putJSON(ctx, tokenIDPrefix+cur.Hash, cur); err != nil {
		return nil, nil, err
	}
	return cur, warnings, nil
}

// revoke deletes te and its accessor index.
func (ts *tokenStore) revoke(ctx context.Context, te *tokenEntry) error {
	if err := ts.barrier.Delete(ctx, tokenAccessorPfx+te.Accessor); err != nil {
		return err
	}
	return ts.barrier.Delete(ctx, tokenIDPrefix+te.Hash)
}

// revokeByPath revokes every token created under prefix (a disabled auth
// mount).
func (ts *tokenStore) revokeByPath(ctx context.Context, prefix string) error {
	hashes, err := ts.barrier.List(ctx, tokenIDPrefix)
	if err != nil {
		return err
	}
	for _, h := range hashes {
		te, err := ts.get(ctx, h)
		if err != nil {
			return err
		}
		if te != nil && strings.HasPrefix(te.Path, prefix) {
			if err := ts.revoke(ctx, te); err != nil {
				return err
			}
		}
	}
	return nil
}

// authBody is the "auth" object of login and renew responses.
func authBody(token string, te *tokenEntry, now time.Time) map[string]any {
	meta := te.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	tokenPolicies := slices.Clone(te.Policies)
	sort.Strings(tokenPolicies)
	return map[string]any{
		"client_token":      token,
		"accessor":          te.Accessor,
		"policies":          te.Policies,
		"token_policies":    tokenPolicies,
		"identity_policies": nil,
		"metadata":          meta,
		"lease_duration":    int64(te.remaining(now) / time.Second),
		"renewable":         te.Renewable && !te.ExpireTime.IsZero(),
		"entity_id":         "",
		"token_type":        "service",
		"orphan":            te.Orphan,
		"mfa_requirement":   nil,
		"num_uses":          te.NumUses,
	}
}
