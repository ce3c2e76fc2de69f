// Package approle is the AppRole auth method of embeddedvault as a
// vault/sdk framework backend (New): roles with a role ID and secret IDs,
// and a login that returns the logical.Auth from which the server issues
// a token shaped by the role's token_* parameters. Secret IDs are stored
// under an HMAC-SHA256 of the ID keyed by a per-mount salt kept in the
// mount's storage; that layout is unchanged from when the engine lived in
// embeddedvault, so existing vault.db files keep working. The backend
// knows nothing of HTTP or tokens; the tests drive it over
// logical.InmemStorage.
package approle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/tokenutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// backend is the AppRole auth method: roles with a role ID and secret IDs,
// logins that yield tokens shaped by the role's token_* parameters.
type backend struct {
	*framework.Backend

	// mu serializes secret-ID use counting and role/secret-ID changes.
	mu sync.Mutex
}

// Storage layout inside the mount's view.
const (
	arRolePrefix     = "role/"
	arRoleIDPrefix   = "role_id/"
	arSecretIDPrefix = "secret_id/"
	arAccessorPrefix = "accessor/"
	arSaltKey        = "salt"
)

// New builds an AppRole backend over conf.StorageView. Its login path is
// unauthenticated (declared in PathsSpecial); every other path needs a
// token the server has checked.
func New(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &backend{}
	b.Backend = &framework.Backend{
		Help:        "AppRole: machine login with a role ID and a secret ID.",
		BackendType: logical.TypeCredential,
		PathsSpecial: &logical.Paths{
			Unauthenticated: []string{"login", "login/"},
		},
		Paths: framework.PathAppend(
			b.secretIDPaths(),
			b.rolePaths(),
			[]*framework.Path{b.loginPath()},
		),
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

// roleEntry is a stored role.
type roleEntry struct {
	tokenutil.TokenParams

	Name               string        `json:"name"`
	RoleID             string        `json:"role_id"`
	BindSecretID       bool          `json:"bind_secret_id"`
	SecretIDNumUses    int           `json:"secret_id_num_uses"`
	SecretIDTTL        time.Duration `json:"secret_id_ttl"`
	SecretIDBoundCIDRs []string      `json:"secret_id_bound_cidrs"`
	LocalSecretIDs     bool          `json:"local_secret_ids"`
}

// secretIDEntry is a stored secret ID, keyed by its HMAC.
type secretIDEntry struct {
	Accessor       string            `json:"accessor"`
	NumUses        int               `json:"num_uses"`
	TTL            time.Duration     `json:"ttl"`
	CreationTime   time.Time         `json:"creation_time"`
	ExpirationTime time.Time         `json:"expiration_time"` // zero: never
	Metadata       map[string]string `json:"metadata"`
	CIDRList       []string          `json:"cidr_list"`
	TokenCIDRs     []string          `json:"token_bound_cidrs"`
}

func (b *backend) role(ctx context.Context, s logical.Storage, name string) (*roleEntry, error) {
	e, err := s.Get(ctx, arRolePrefix+strings.ToLower(name))
	if err != nil || e == nil {
		return nil, err
	}
	var r roleEntry
	return &r, e.DecodeJSON(&r)
}

func (b *backend) putRole(ctx context.Context, s logical.Storage, r *roleEntry) error {
	e, err := logical.StorageEntryJSON(arRolePrefix+r.Name, r)
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

// salt returns the mount's HMAC key for secret IDs, creating it once.
func (b *backend) salt(ctx context.Context, s logical.Storage) ([]byte, error) {
	e, err := s.Get(ctx, arSaltKey)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return e.Value, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, s.Put(ctx, &logical.StorageEntry{Key: arSaltKey, Value: k})
}

func (b *backend) hmac(ctx context.Context, s logical.Storage, v string) (string, error) {
	k, err := b.salt(ctx, s)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// secretIDKey is where a secret ID of role lives.
func (b *backend) secretIDKey(ctx context.Context, s logical.Storage, role, secretID string) (string, error) {
	h, err := b.hmac(ctx, s, secretID)
	if err != nil {
		return "", err
	}
	return arSecretIDPrefix + role + "/" + h, nil
}

// cidrAllowed reports whether remote (host:port or host) is inside one of
// cidrs; an empty list allows everything.
func cidrAllowed(cidrs []string, remote string) bool {
	if len(cidrs) == 0 {
		return true
	}
	host := remote
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		host = ap.Addr().String()
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, c := range cidrs {
		if !strings.Contains(c, "/") {
			if a, err := netip.ParseAddr(c); err == nil && a == addr.Unmap() {
				return true
			}
			continue
		}
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

func validCIDRs(cidrs []string) error {
	for _, c := range cidrs {
		if _, err := netip.ParsePrefix(c); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(c); err != nil {
			return err
		}
	}
	return nil
}
