package embeddedvault

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/vault/sdk/logical"
)

// capability is a set of ACL capabilities.
type capability uint16

const (
	capDeny capability = 1 << iota
	capCreate
	capRead
	capUpdate
	capPatch
	capDelete
	capList
	capSudo
	capSubscribe
	capRecover
)

var capabilityNames = []struct {
	name string
	c    capability
}{
	{"deny", capDeny}, {"create", capCreate}, {"read", capRead}, {"update", capUpdate},
	{"patch", capPatch}, {"delete", capDelete}, {"list", capList}, {"sudo", capSudo},
	{"subscribe", capSubscribe}, {"recover", capRecover},
}

func (c capability) names() []string {
	if c&capDeny != 0 || c == 0 {
		return []string{"deny"}
	}
	var out []string
	for _, n := range capabilityNames {
		if c&n.c != 0 {
			out = append(out, n.name)
		}
	}
	sort.Strings(out)
	return out
}

// legacyPolicy maps the pre-0.9 in-block `policy = "..."` values.
var legacyPolicy = map[string]capability{
	"deny":  capDeny,
	"read":  capRead | capList,
	"write": capCreate | capRead | capUpdate | capDelete | capList,
	"sudo":  capCreate | capRead | capUpdate | capDelete | capList | capSudo,
}

// pathRule is one `path "<pattern>" { ... }` block.
type pathRule struct {
	pattern string
	caps    capability
}

// policy is a parsed ACL policy.
type policy struct {
	name  string
	raw   string
	rules []pathRule
}

// Keys a policy document may contain; everything else is an error, as in
// Vault.
var (
	policyTopKeys  = map[string]bool{"name": true, "path": true}
	policyPathKeys = map[string]bool{
		"policy": true, "capabilities": true, "allowed_parameters": true, "denied_parameters": true,
		"required_parameters": true, "min_wrapping_ttl": true, "max_wrapping_ttl": true,
		"mfa_methods": true, "control_group": true, "subscribe_event_types": true,
	}
)

// ParsePolicy checks an ACL policy (HCL or JSON, optionally base64 encoded) as
// sys/policies/acl would on a write, without storing it: the seed file's policies are
// checked this way before anything is applied.
func ParsePolicy(raw string) error {
	_, err := parsePolicy("", raw)
	return err
}

// parsePolicy parses an HCL or JSON policy, optionally base64 encoded.
func parsePolicy(name, raw string) (*policy, error) {
	if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw)); err == nil && len(dec) > 0 && utf8.Valid(dec) {
		raw = string(dec)
	}
	f, err := hcl.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("failed to parse policy: %w", err)
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, fmt.Errorf("failed to parse policy: does not contain a root object")
	}
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			continue
		}
		if k := keyString(it.Keys[0]); !policyTopKeys[k] {
			return nil, fmt.Errorf("failed to parse policy: invalid key %q on line %d", k, it.Keys[0].Pos().Line)
		}
	}
	p := &policy{name: name, raw: raw}
	for _, it := range list.Filter("path").Items {
		if len(it.Keys) != 1 {
			return nil, fmt.Errorf("failed to parse policy: path block needs exactly one pattern")
		}
		pattern := strings.TrimPrefix(keyString(it.Keys[0]), "/")
		obj, ok := it.Val.(*ast.ObjectType)
		if !ok {
			return nil, fmt.Errorf("failed to parse policy: path %q: block expected", pattern)
		}
		for _, k := range obj.List.Items {
			if name := keyString(k.Keys[0]); !policyPathKeys[name] {
				return nil, fmt.Errorf("failed to parse policy: path %q: invalid key %q", pattern, name)
			}
		}
		var body struct {
			Policy       string   `hcl:"policy"`
			Capabilities []string `hcl:"capabilities"`
		}
		if err := hcl.DecodeObject(&body, obj); err != nil {
			return nil, fmt.Errorf("failed to parse policy: path %q: %w", pattern, err)
		}
		rule, err := newPathRule(pattern, body.Policy, body.Capabilities)
		if err != nil {
			return nil, fmt.Errorf("failed to parse policy: %w", err)
		}
		p.rules = append(p.rules, rule)
	}
	return p, nil
}

func keyString(k *ast.ObjectKey) string {
	if s, ok := k.Token.Value().(string); ok {
		return s
	}
	return k.Token.Text
}

func newPathRule(pattern, legacy string, caps []string) (pathRule, error) {
	if strings.Contains(pattern, "+*") {
		return pathRule{}, fmt.Errorf("path %q: invalid use of wildcards ('+*' is forbidden)", pattern)
	}
	r := pathRule{pattern: pattern}
	if legacy != "" {
		c, ok := legacyPolicy[strings.ToLower(legacy)]
		if !ok {
			return r, fmt.Errorf("path %q: invalid policy %q", pattern, legacy)
		}
		r.caps |= c
	}
	for _, name := range caps {
		found := false
		for _, n := range capabilityNames {
			if n.name == strings.ToLower(name) {
				r.caps |= n.c
				found = true
			}
		}
		if !found {
			return r, fmt.Errorf("path %q: invalid capability %q", pattern, name)
		}
	}
	if r.caps&capDeny != 0 {
		r.caps = capDeny
	}
	return r, nil
}

// globRule is a compiled wildcard pattern.
type globRule struct {
	pattern  string
	base     string   // pattern without the trailing "*" of a prefix rule
	segments []string // base split on "/" when it has "+" segments
	prefix   bool
	plusses  int
	firstWC  int // index of the first wildcard
	caps     capability
}

// acl is the merged view of a token's policies.
type acl struct {
	root  bool
	exact map[string]capability
	globs []*globRule // most specific first
}

// isGlobSegment reports whether pattern has "+" as a whole segment.
func plusSegments(pattern string) int {
	n := 0
	for _, s := range strings.Split(pattern, "/") {
		if s == "+" {
			n++
		}
	}
	return n
}

// newACL merges policies: identical patterns OR their capabilities (deny
// wins within one pattern); globs are ordered by Vault's specificity.
func newACL(policies []*policy) *acl {
	a := &acl{exact: map[string]capability{}}
	merged := map[string]capability{}
	for _, p := range policies {
		if p.name == "root" {
			a.root = true
		}
		for _, r := range p.rules {
			c := merged[r.pattern] | r.caps
			if c&capDeny != 0 {
				c = capDeny
			}
			merged[r.pattern] = c
		}
	}
	for pattern, caps := range merged {
		plus := plusSegments(pattern)
		prefix := strings.HasSuffix(pattern, "*")
		if !prefix && plus == 0 {
			a.exact[pattern] = caps
			continue
		}
		g := &globRule{pattern: pattern, base: pattern, prefix: prefix, plusses: plus, caps: caps}
		if prefix {
			g.base = strings.TrimSuffix(pattern, "*")
			g.firstWC = len(pattern) - 1
		}
		if plus > 0 {
			g.segments = strings.Split(g.base, "/")
			pos := 0
			for _, s := range g.segments {
				if s == "+" {
					g.firstWC = pos
					break
				}
				pos += len(s) + 1
			}
		}
		a.globs = append(a.globs, g)
	}
	sort.Slice(a.globs, func(i, j int) bool { return moreSpecific(a.globs[i], a.globs[j]) })
	return a
}

// moreSpecific ranks glob patterns as Vault does.
func moreSpecific(a, b *globRule) bool {
	switch {
	case a.firstWC != b.firstWC:
		return a.firstWC > b.firstWC
	case a.prefix != b.prefix:
		return !a.prefix
	case a.plusses != b.plusses:
		return a.plusses < b.plusses
	case len(a.pattern) != len(b.pattern):
		return len(a.pattern) > len(b.pattern)
	}
	return a.pattern > b.pattern
}

func (g *globRule) matches(path string) bool {
	if g.segments == nil {
		return strings.HasPrefix(path, g.base)
	}
	segs := strings.Split(path, "/")
	if len(segs) < len(g.segments) || (!g.prefix && len(segs) != len(g.segments)) {
		return false
	}
	for i, ps := range g.segments {
		switch {
		case ps == "+":
		case g.prefix && i == len(g.segments)-1:
			if !strings.HasPrefix(segs[i], ps) {
				return false
			}
		case segs[i] != ps:
			return false
		}
	}
	return true
}

// capabilities returns the capabilities the ACL grants on path.
func (a *acl) capabilities(path string, op logical.Operation) capability {
	if c, ok := a.exact[path]; ok {
		return c
	}
	if op == logical.ListOperation {
		if c, ok := a.exact[strings.TrimSuffix(path, "/")]; ok {
			return c
		}
	}
	for _, g := range a.globs {
		if g.matches(path) {
			return g.caps
		}
	}
	return 0
}

// opCapability is the capability an operation needs.
func opCapability(op logical.Operation) capability {
	switch op {
	case logical.ReadOperation, logical.HeaderOperation:
		return capRead
	case logical.ListOperation:
		return capList
	case logical.CreateOperation:
		return capCreate
	case logical.DeleteOperation:
		return capDelete
	case logical.PatchOperation:
		return capPatch
	}
	return capUpdate // update, renew, revoke
}

// allowed decides one request.
func (a *acl) allowed(path string, op logical.Operation, sudo bool) bool {
	if a.root {
		return true
	}
	c := a.capabilities(path, op)
	if c&capDeny != 0 || c&opCapability(op) == 0 {
		return false
	}
	return !sudo || c&capSudo != 0
}
