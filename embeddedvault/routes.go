package embeddedvault

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// handlerFunc serves one operation of a route.
type handlerFunc func(ctx context.Context, r *request) (*response, error)

// authMode says what a route needs before its handler runs.
type authMode int

const (
	// authNone: no token, works while sealed (init, unseal, health...).
	authNone authMode = iota
	// authACL: unsealed, a valid token whose policies allow the operation.
	authACL
	// authValid: unsealed and a valid token; the handler checks the rest.
	authValid
)

const defaultTimeout = 60 * time.Second

// route is one entry of the API surface served by the Server itself. Paths
// are logical (without /v1/); a prefix route ends in "/*" and matches
// everything below it. Everything not listed goes to the mount table
// (KV and AppRole backends), which has the same auth rules as authACL.
type route struct {
	path      string
	auth      authMode
	sudo      bool  // also needs the sudo capability (Vault "root paths")
	bodyLimit int64 // 0 = Config.MaxRequestSize
	timeout   time.Duration
	ops       map[logical.Operation]handlerFunc
}

const kib = 1 << 10

// routes builds the route table and the HTTP handler.
func (s *Server) routes() http.Handler {
	s.table = []route{
		// Seal lifecycle: unauthenticated, served while sealed.
		{path: "sys/init", auth: authNone, bodyLimit: 64 * kib, ops: ops{opRead: s.initStatus, opUpdate: s.initHandler}},
		{path: "sys/seal-status", auth: authNone, ops: ops{opRead: s.sealStatus}},
		{path: "sys/unseal", auth: authNone, bodyLimit: 64 * kib, ops: ops{opUpdate: s.unsealHandler}},
		{path: "sys/health", auth: authNone, ops: ops{opRead: s.health, opHead: s.health}},
		{path: "sys/leader", auth: authNone, ops: ops{opRead: s.leader}},
		{path: "sys/seal", auth: authACL, sudo: true, bodyLimit: 64 * kib, ops: ops{opUpdate: s.sealHandler}},

		// Mounts and auth methods.
		{path: "sys/mounts", auth: authACL, ops: ops{opRead: s.listMounts}},
		{path: "sys/mounts/*", auth: authACL, bodyLimit: 1 << 20, ops: ops{opRead: s.readMount, opUpdate: s.enableMount, opDelete: s.disableMount}},
		{path: "sys/auth", auth: authACL, ops: ops{opRead: s.listAuths}},
		{path: "sys/auth/*", auth: authACL, sudo: true, bodyLimit: 1 << 20, ops: ops{opRead: s.readAuth, opUpdate: s.enableAuth, opDelete: s.disableAuth}},
		{path: "sys/internal/ui/mounts", auth: authValid, ops: ops{opRead: s.uiMounts}},
		{path: "sys/internal/ui/mounts/*", auth: authValid, ops: ops{opRead: s.uiMount}},

		// ACL policies, current and legacy.
		{path: "sys/policies/acl", auth: authACL, ops: ops{opList: s.listPolicies, opRead: s.listPolicies}},
		{path: "sys/policies/acl/*", auth: authACL, bodyLimit: 1 << 20, ops: ops{opRead: s.readPolicy, opUpdate: s.writePolicy, opDelete: s.deletePolicy}},
		{path: "sys/policy", auth: authACL, ops: ops{opRead: s.listPoliciesLegacy, opList: s.listPoliciesLegacy}},
		{path: "sys/policy/*", auth: authACL, bodyLimit: 1 << 20, ops: ops{opRead: s.readPolicyLegacy, opUpdate: s.writePolicyLegacy, opDelete: s.deletePolicy}},
		{path: "sys/capabilities-self", auth: authACL, bodyLimit: 64 * kib, ops: ops{opUpdate: s.capabilitiesSelf}},

		// Token store.
		{path: "auth/token/lookup-self", auth: authACL, ops: ops{opRead: s.lookupSelf, opUpdate: s.lookupSelf}},
		{path: "auth/token/renew-self", auth: authACL, bodyLimit: 64 * kib, ops: ops{opUpdate: s.renewSelf}},
		{path: "auth/token/revoke-self", auth: authACL, bodyLimit: 64 * kib, ops: ops{opUpdate: s.revokeSelf}},
		{path: "auth/token/create", auth: authACL, bodyLimit: 64 * kib, ops: ops{opUpdate: s.createToken}},
		{path: "auth/token/lookup", auth: authACL, bodyLimit: 64 * kib, ops: ops{opUpdate: s.lookupToken}},
		{path: "auth/token/revoke", auth: authACL, bodyLimit: 64 * kib, ops: ops{opUpdate: s.revokeToken}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/", s.serveAPI)
	return mux
}

// ops maps operations to handlers; the short names keep the table narrow.
type ops = map[logical.Operation]handlerFunc

const (
	opRead   = logical.ReadOperation
	opUpdate = logical.UpdateOperation
	opDelete = logical.DeleteOperation
	opList   = logical.ListOperation
	opHead   = logical.HeaderOperation
)

// match finds the route for path, if the Server serves it itself.
func (s *Server) match(path string) *route {
	p := strings.TrimSuffix(path, "/")
	for i := range s.table {
		rt := &s.table[i]
		if base, ok := strings.CutSuffix(rt.path, "/*"); ok {
			if strings.HasPrefix(p, base+"/") && len(p) > len(base)+1 {
				return rt
			}
			continue
		}
		if p == rt.path {
			return rt
		}
	}
	return nil
}

// routeParam returns the part of path below a prefix route ("sys/mounts/kv/" -> "kv").
func routeParam(rt *route, path string) string {
	base := strings.TrimSuffix(rt.path, "*")
	return strings.Trim(strings.TrimPrefix(path, base), "/")
}
