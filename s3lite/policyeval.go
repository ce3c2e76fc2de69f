package s3lite

import (
	"net/netip"
	"strconv"
	"strings"
)

// policyRequest is what a bucket policy is evaluated against.
type policyRequest struct {
	action    string // IAM action, e.g. "s3:GetObject"
	resource  string // "bucket" or "bucket/key" (below arn:aws:s3:::)
	anonymous bool
	// service is the service principal making the request (access log delivery); "" none.
	// Only statements naming it as a Service principal apply.
	service string
	// ids name a signed requester: its canonical id, access key and user ARN.
	ids []string
	// keys holds the condition keys of the request, lower-cased; an absent key is missing.
	keys map[string][]string
}

// policyEffect is the outcome of evaluating a policy.
type policyEffect int

const (
	policyNone  policyEffect = iota // no statement applies: implicit deny
	policyAllow                     // an Allow applies and no Deny
	policyDeny                      // an explicit Deny applies
)

// evaluate returns the effect of d on pr: explicit Deny wins over Allow.
func (d *policyDoc) evaluate(pr *policyRequest) policyEffect {
	if d == nil {
		return policyNone
	}
	eff := policyNone
	for i := range d.statements {
		st := &d.statements[i]
		if !st.applies(pr) {
			continue
		}
		if st.deny {
			return policyDeny
		}
		eff = policyAllow
	}
	return eff
}

// applies reports whether st's principal, action, resource and conditions all match pr.
func (st *policyStatement) applies(pr *policyRequest) bool {
	if !st.principalMatches(pr) {
		return false
	}
	act := strings.ToLower(pr.action)
	if anyMatch(st.actions, act) == st.notAction {
		return false
	}
	if anyMatch(st.resources, pr.resource) == st.notRes {
		return false
	}
	for _, c := range st.conditions {
		vals, ok := pr.keys[c.key]
		if !c.holds(vals, ok) {
			return false
		}
	}
	return true
}

func (st *policyStatement) principalMatches(pr *policyRequest) bool {
	if pr.service != "" {
		return anyMatch(st.services, pr.service)
	}
	if st.anyone {
		return true
	}
	if pr.anonymous {
		return false
	}
	for _, p := range st.principals {
		for _, id := range pr.ids {
			if p == id {
				return true
			}
		}
	}
	return false
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if wildMatch(p, s) {
			return true
		}
	}
	return false
}

// negatedOps maps each negated operator to its positive form.
var negatedOps = map[string]string{
	"stringnotequals": "stringequals", "stringnotequalsignorecase": "stringequalsignorecase",
	"stringnotlike": "stringlike", "numericnotequals": "numericequals", "notipaddress": "ipaddress",
	"arnnotequals": "arnequals", "arnnotlike": "arnlike", "datenotequals": "dateequals",
}

// holds evaluates c against the request's values of its key (present: the key exists).
// As in IAM, a missing key fails positive operators, satisfies negated ones and
// ...IfExists operators.
func (c policyCondition) holds(vals []string, present bool) bool {
	if c.op == "null" {
		want, _ := strconv.ParseBool(c.values[0])
		return want != present
	}
	base, negated := negatedOps[c.op]
	if !negated {
		base = c.op
	}
	if !present {
		return negated || c.ifExists
	}
	matched := c.forAll
	for _, v := range vals {
		m := c.matchAny(base, v)
		if c.forAll && !m {
			matched = false
			break
		}
		if !c.forAll && m {
			matched = true
			break
		}
	}
	return matched != negated
}

// matchAny reports whether the request value v matches one of c's values under op.
func (c policyCondition) matchAny(op, v string) bool {
	for _, want := range c.values {
		if matchOp(op, want, v) {
			return true
		}
	}
	return false
}

// matchOp applies the positive operator op to the policy value want and request value got.
func matchOp(op, want, got string) bool {
	switch op {
	case "stringequals":
		return want == got
	case "stringequalsignorecase":
		return strings.EqualFold(want, got)
	case "stringlike", "arnlike":
		return wildMatch(want, got)
	case "arnequals":
		return want == got
	case "bool":
		return strings.EqualFold(want, got)
	case "ipaddress":
		p, err1 := parsePrefix(want)
		a, err2 := netip.ParseAddr(got)
		return err1 == nil && err2 == nil && p.Contains(a.Unmap())
	}
	if d, ok := strings.CutPrefix(op, "date"); ok {
		w, ok1 := parseDate(want)
		g, ok2 := parseDate(got)
		if !ok1 || !ok2 {
			return false
		}
		op, want, got = "numeric"+d, strconv.FormatInt(w.UnixNano(), 10), strconv.FormatInt(g.UnixNano(), 10)
	}
	w, err1 := strconv.ParseFloat(want, 64)
	g, err2 := strconv.ParseFloat(got, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch op {
	case "numericequals":
		return g == w
	case "numericlessthan":
		return g < w
	case "numericlessthanequals":
		return g <= w
	case "numericgreaterthan":
		return g > w
	case "numericgreaterthanequals":
		return g >= w
	}
	return false
}

// restrictingKeys are condition keys that, matched with fixed values, keep a statement
// for Principal "*" from being public (S3's "public" policy rules).
var restrictingKeys = map[string]bool{
	"aws:sourceip": true, "aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourceowner": true, "aws:sourceaccount": true, "aws:userid": true, "aws:principalarn": true,
	"aws:principalorgid": true, "aws:principalaccount": true,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": true, "s3:dataaccesspointarn": true,
	"s3:dataaccesspointaccount": true,
}

// isPublic reports whether d grants access to everyone: an Allow for Principal "*"
// without a condition that pins a restricting key to fixed values.
func (d *policyDoc) isPublic() bool {
	if d == nil {
		return false
	}
	for _, st := range d.statements {
		if st.deny || !st.anyone {
			continue
		}
		restricted := false
		for _, c := range st.conditions {
			if _, neg := negatedOps[c.op]; neg || !restrictingKeys[c.key] {
				continue
			}
			if c.op == "ipaddress" && !fixedPrefixes(c.values) {
				continue
			}
			if c.op == "stringlike" && strings.ContainsAny(strings.Join(c.values, ""), "*?") {
				continue
			}
			restricted = true
		}
		if !restricted {
			return true
		}
	}
	return false
}

// fixedPrefixes reports whether none of the CIDR blocks vs is a whole address space.
func fixedPrefixes(vs []string) bool {
	for _, v := range vs {
		if p, err := parsePrefix(v); err != nil || p.Bits() == 0 {
			return false
		}
	}
	return true
}

// wildMatch matches s against pattern with * (any run) and ? (one character).
func wildMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	return globMatch(pattern, s)
}

// globMatch is an iterative * and ? matcher (linear backtracking, no recursion).
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
