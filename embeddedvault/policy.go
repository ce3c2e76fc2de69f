package embeddedvault

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/vault/sdk/logical"
)

const policyPrefix = "sys/policy/"

// defaultPolicy is the built-in "default" policy every non-root token
// carries: token self-service, capabilities-self, leases, wrapping, hashing
// and the token's cubbyhole.
const defaultPolicy = `# Token self-service.
path "auth/token/lookup-self" {
    capabilities = ["read"]
}
path "auth/token/renew-self" {
    capabilities = ["update"]
}
path "auth/token/revoke-self" {
    capabilities = ["update"]
}
path "sys/capabilities-self" {
    capabilities = ["update"]
}
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}
# Leases.
path "sys/leases/renew" {
    capabilities = ["update"]
}
path "sys/leases/lookup" {
    capabilities = ["update"]
}
# Response wrapping.
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
# Hashing.
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}
# Per-token private storage.
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}
`

// storedPolicy is the record kept behind the barrier.
type storedPolicy struct {
	Name string `json:"name"`
	Raw  string `json:"raw"`
}

// policyStore keeps named policies and caches compiled ACLs.
type policyStore struct {
	barrier *barrier

	mu       sync.RWMutex
	policies map[string]*policy
	acls     map[string]*acl // by joined policy names
	// damaged holds, by name, the stored policies that did not read back (ErrDamaged): they
	// grant nothing and answer their error until rewritten or deleted.
	damaged map[string]error
}

func loadPolicyStore(ctx context.Context, b *barrier) (*policyStore, error) {
	ps := &policyStore{barrier: b, policies: map[string]*policy{}, acls: map[string]*acl{}, damaged: map[string]error{}}
	names, err := b.List(ctx, policyPrefix)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		var sp storedPolicy
		_, err := b.getJSON(ctx, policyPrefix+n, &sp)
		if err != nil && !errors.Is(err, ErrCorrupt) && !isJSONError(err) {
			return nil, err
		}
		var p *policy
		if err == nil {
			p, err = parsePolicy(sp.Name, sp.Raw)
		}
		if err != nil || sp.Name != n {
			ps.damaged[n] = withMessage(ErrDamaged, "policy %q (%s) is damaged: %v", n, policyPrefix+n, err)
			continue
		}
		p.raw = sp.Raw
		ps.policies[sp.Name] = p
	}
	if ps.policies["default"] == nil && ps.damaged["default"] == nil {
		if err := ps.put(ctx, "default", defaultPolicy); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// put parses, stores and activates a policy.
func (ps *policyStore) put(ctx context.Context, name, raw string) error {
	p, err := parsePolicy(name, raw)
	if err != nil {
		return badRequest("%v", err)
	}
	p.raw = raw
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := ps.barrier.putJSON(ctx, policyPrefix+name, storedPolicy{Name: name, Raw: raw}); err != nil {
		return err
	}
	ps.policies[name] = p
	delete(ps.damaged, name)
	clear(ps.acls)
	return nil
}

func (ps *policyStore) remove(ctx context.Context, name string) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := ps.barrier.Delete(ctx, policyPrefix+name); err != nil {
		return err
	}
	delete(ps.policies, name)
	delete(ps.damaged, name)
	clear(ps.acls)
	return nil
}

func (ps *policyStore) get(name string) *policy {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.policies[name]
}

// damagedErr is the error of the stored policy name if it did not read back, else nil.
func (ps *policyStore) damagedErr(name string) error {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.damaged[name]
}

func (ps *policyStore) names() []string {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	out := append(sortedKeys(ps.policies), "root")
	slices.Sort(out)
	return out
}

// aclFor returns the merged ACL of the named policies; unknown names are
// skipped, as Vault does.
func (ps *policyStore) aclFor(_ context.Context, names []string) (*acl, error) {
	key := strings.Join(names, "\x00")
	ps.mu.RLock()
	a := ps.acls[key]
	ps.mu.RUnlock()
	if a != nil {
		return a, nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var pols []*policy
	for _, n := range names {
		if n == "root" {
			pols = append(pols, &policy{name: "root"})
		} else if p := ps.policies[n]; p != nil {
			pols = append(pols, p)
		}
	}
	a = newACL(pols)
	ps.acls[key] = a
	return a, nil
}

// policyName validates and lowercases a policy name from the path.
func (s *Server) policyName(r *request) (string, []string, error) {
	raw := routeParam(s.match(r.path), r.path)
	name := strings.ToLower(raw)
	if name == "" || strings.ContainsAny(name, "/ ") {
		return "", nil, badRequest("invalid policy name %q", raw)
	}
	var warnings []string
	if name != raw {
		warnings = []string{"policy name was converted to lower case"}
	}
	return name, warnings, nil
}

func (s *Server) listPolicies(_ context.Context, r *request) (*response, error) {
	return &response{data: map[string]any{"keys": r.st.policies.names()}}, nil
}

func (s *Server) listPoliciesLegacy(_ context.Context, r *request) (*response, error) {
	n := r.st.policies.names()
	return &response{data: map[string]any{"keys": n, "policies": n}, topLevel: true}, nil
}

func (s *Server) readPolicy(_ context.Context, r *request) (*response, error) {
	name, _, err := s.policyName(r)
	if err != nil {
		return nil, err
	}
	if name == "root" {
		return &response{data: map[string]any{"name": "root", "policy": ""}}, nil
	}
	p := r.st.policies.get(name)
	if p == nil {
		if err := r.st.policies.damagedErr(name); err != nil {
			return nil, err
		}
		return nil, ErrNotFound
	}
	return &response{data: map[string]any{"name": name, "policy": p.raw}}, nil
}

func (s *Server) readPolicyLegacy(ctx context.Context, r *request) (*response, error) {
	resp, err := s.readPolicy(ctx, r)
	if err != nil {
		return nil, err
	}
	resp.data["rules"] = resp.data["policy"]
	delete(resp.data, "policy")
	resp.topLevel = true
	return resp, nil
}

func (s *Server) writePolicy(ctx context.Context, r *request) (*response, error) {
	return s.storePolicy(ctx, r, "policy")
}

func (s *Server) writePolicyLegacy(ctx context.Context, r *request) (*response, error) {
	if _, ok := r.data["policy"]; ok {
		return s.storePolicy(ctx, r, "policy")
	}
	return s.storePolicy(ctx, r, "rules")
}

func (s *Server) storePolicy(ctx context.Context, r *request, field string) (*response, error) {
	name, warnings, err := s.policyName(r)
	if err != nil {
		return nil, err
	}
	if name == "root" {
		return nil, badRequest("cannot update \"root\" policy")
	}
	raw, err := stringField(r.data, field)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(raw) == "" {
		return nil, badRequest("'%s' parameter not supplied or empty", field)
	}
	if err := r.st.policies.put(ctx, name, raw); err != nil {
		return nil, err
	}
	if len(warnings) > 0 {
		return &response{warnings: warnings}, nil
	}
	return nil, nil
}

func (s *Server) deletePolicy(ctx context.Context, r *request) (*response, error) {
	name, _, err := s.policyName(r)
	if err != nil {
		return nil, err
	}
	if name == "root" || name == "default" {
		return nil, badRequest("cannot delete %q policy", name)
	}
	return nil, r.st.policies.remove(ctx, name)
}

// capabilitiesSelf reports the caller's capabilities on "paths" (or "path").
func (s *Server) capabilitiesSelf(ctx context.Context, r *request) (*response, error) {
	paths, _, err := stringsField(r.data, "paths")
	if err != nil {
		return nil, err
	}
	if p, _ := stringField(r.data, "path"); p != "" {
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, badRequest("paths must be supplied")
	}
	a, err := r.st.policies.aclFor(ctx, r.te.Policies)
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	var all []string
	for _, p := range paths {
		p = strings.TrimPrefix(p, "/")
		var caps []string
		if a.root {
			caps = []string{"root"}
		} else {
			caps = a.capabilities(p, logical.ReadOperation).names()
		}
		data[p] = caps
		all = caps
	}
	data["capabilities"] = all
	return &response{data: data}, nil
}
