package s3lite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Bucket policies are parsed and evaluated here, by hand: the maintained Go
// implementations of IAM policy evaluation (MinIO's pkg/policy) are AGPL, and
// S3's subset (one bucket's resources, Principal "*" or the owner, a dozen
// condition operators) is small.

// maxPolicySize is S3's bucket policy size limit (20 KiB).
const maxPolicySize = 20 << 10

const arnS3Prefix = "arn:aws:s3:::"

// policyDoc is a parsed bucket policy.
type policyDoc struct {
	statements []policyStatement
}

// policyStatement is one Statement of a policy.
type policyStatement struct {
	deny bool
	// anyone: Principal "*" or {"AWS": "*"}; principals: the other AWS and
	// CanonicalUser principals named.
	anyone     bool
	principals []string
	// services are the Service principals named (logging.s3.amazonaws.com: access log delivery).
	services   []string
	actions    []string // patterns, lower-cased
	notAction  bool
	resources  []string // patterns below arn:aws:s3:::
	notRes     bool
	conditions []policyCondition
}

// policyCondition is one operator/key pair of a Condition block.
type policyCondition struct {
	op       string // lower-cased base operator, e.g. "stringlike"
	ifExists bool
	forAll   bool // ForAllValues: (ForAnyValue: and none behave alike for single values)
	key      string
	values   []string
}

// policyOps are the supported condition operators (lower-cased).
var policyOps = map[string]bool{
	"stringequals": true, "stringnotequals": true, "stringequalsignorecase": true,
	"stringnotequalsignorecase": true, "stringlike": true, "stringnotlike": true,
	"numericequals": true, "numericnotequals": true, "numericlessthan": true,
	"numericlessthanequals": true, "numericgreaterthan": true, "numericgreaterthanequals": true,
	"bool": true, "ipaddress": true, "notipaddress": true, "null": true,
	"arnequals": true, "arnnotequals": true, "arnlike": true, "arnnotlike": true,
	"dateequals": true, "datenotequals": true, "datelessthan": true, "datelessthanequals": true,
	"dategreaterthan": true, "dategreaterthanequals": true,
}

// policyError is a MalformedPolicy answer with S3's message.
func policyError(msg string) error { return withMsg(errMalformedPolicy, msg) }

// parsePolicy parses and validates the policy document data for bucket.
func parsePolicy(data []byte, bucket string) (*policyDoc, error) {
	if len(data) > maxPolicySize {
		return nil, policyError("Policy exceeds the maximum allowed document size.")
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, policyError("Policies must be valid JSON and the first byte must be '{'")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, policyError("This policy contains invalid Json")
	}
	doc := &policyDoc{}
	for k, v := range top {
		switch k {
		case "Version":
			var ver string
			if json.Unmarshal(v, &ver) != nil || ver != "2012-10-17" && ver != "2008-10-17" {
				return nil, policyError("The policy must contain a valid version string")
			}
		case "Id":
			var id string
			if json.Unmarshal(v, &id) != nil {
				return nil, policyError("This policy contains invalid Json")
			}
		case "Statement":
		default:
			return nil, policyError("Unknown field " + k)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, policyError("Missing required field Statement")
	}
	var stmts []json.RawMessage
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		stmts = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &stmts); err != nil {
		return nil, policyError("This policy contains invalid Json")
	}
	if len(stmts) == 0 {
		return nil, policyError("Could not parse the policy: Statement is empty!")
	}
	for _, r := range stmts {
		st, err := parseStatement(r, bucket)
		if err != nil {
			return nil, err
		}
		doc.statements = append(doc.statements, st)
	}
	return doc, nil
}

// parseStatement parses one statement object.
func parseStatement(raw json.RawMessage, bucket string) (policyStatement, error) {
	var st policyStatement
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return st, policyError("This policy contains invalid Json")
	}
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		case "NotPrincipal":
			return st, policyError("Policy has an invalid principal: NotPrincipal is not supported")
		default:
			return st, policyError("Unknown field " + k)
		}
	}
	if v, ok := m["Sid"]; ok {
		var sid string
		if json.Unmarshal(v, &sid) != nil {
			return st, policyError("This policy contains invalid Json")
		}
	}
	var effect string
	if v, ok := m["Effect"]; !ok {
		return st, policyError("Missing required field Effect")
	} else if json.Unmarshal(v, &effect) != nil || effect != "Allow" && effect != "Deny" {
		return st, policyError("Invalid effect: " + strings.Trim(string(v), `"`))
	}
	st.deny = effect == "Deny"
	v, ok := m["Principal"]
	if !ok {
		return st, policyError("Missing required field Principal")
	}
	if err := st.parsePrincipal(v); err != nil {
		return st, err
	}
	acts, err := oneOf(m, "Action", "NotAction")
	if err != nil {
		return st, err
	}
	st.notAction = acts.not
	for _, a := range acts.values {
		if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") || a == "s3:" {
			return st, policyError("Policy has invalid action")
		}
		st.actions = append(st.actions, strings.ToLower(a))
	}
	res, err := oneOf(m, "Resource", "NotResource")
	if err != nil {
		return st, err
	}
	st.notRes = res.not
	for _, r := range res.values {
		rest, ok := strings.CutPrefix(r, arnS3Prefix)
		b, _, _ := strings.Cut(rest, "/")
		if !ok || b == "" || !wildMatch(b, bucket) {
			return st, policyError("Policy has invalid resource")
		}
		st.resources = append(st.resources, rest)
	}
	if v, ok := m["Condition"]; ok {
		if st.conditions, err = parseConditions(v); err != nil {
			return st, err
		}
	}
	return st, nil
}

// parsePrincipal reads "*", {"AWS": "*" | "id" | [...]} or {"CanonicalUser": ...}.
func (st *policyStatement) parsePrincipal(v json.RawMessage) error {
	var s string
	if json.Unmarshal(v, &s) == nil {
		if s != "*" {
			return policyError("Invalid principal in policy")
		}
		st.anyone = true
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || len(m) == 0 {
		return policyError("Invalid principal in policy")
	}
	for k, raw := range m {
		if k != "AWS" && k != "CanonicalUser" && k != "Service" && k != "Federated" {
			return policyError("Invalid principal in policy")
		}
		vals, err := stringList(raw)
		if err != nil || len(vals) == 0 {
			return policyError("Invalid principal in policy")
		}
		for _, p := range vals {
			if p == "*" && k == "AWS" {
				st.anyone = true
				continue
			}
			if p == "" {
				return policyError("Invalid principal in policy")
			}
			if k == "Service" {
				st.services = append(st.services, p)
				continue
			}
			if k == "Federated" {
				continue // never a requester of kmsbox: matches nothing
			}
			st.principals = append(st.principals, p)
		}
	}
	return nil
}

// listField is the value of a field that has a Not form (Action/NotAction, Resource/NotResource).
type listField struct {
	values []string
	not    bool
}

// oneOf reads exactly one of the fields name and notName as a string list.
func oneOf(m map[string]json.RawMessage, name, notName string) (listField, error) {
	v, has := m[name]
	nv, hasNot := m[notName]
	switch {
	case has && hasNot:
		return listField{}, policyError(fmt.Sprintf("Statement must not contain both %s and %s", name, notName))
	case hasNot:
		v = nv
	case !has:
		return listField{}, policyError("Missing required field " + name)
	}
	vals, err := stringList(v)
	if err != nil || len(vals) == 0 {
		return listField{}, policyError("Policy has invalid " + strings.ToLower(name))
	}
	return listField{values: vals, not: hasNot}, nil
}

// stringList reads a JSON string or array of strings.
func stringList(v json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, err
	}
	return l, nil
}

// scalarList reads a JSON scalar or array of scalars (strings, numbers, booleans) as strings.
func scalarList(v json.RawMessage) ([]string, error) {
	var l []json.RawMessage
	if t := bytes.TrimLeft(v, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(v, &l); err != nil {
			return nil, err
		}
	} else {
		l = []json.RawMessage{v}
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		var x any
		if err := json.Unmarshal(e, &x); err != nil {
			return nil, err
		}
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case float64, bool:
			out = append(out, strings.TrimSpace(string(e)))
		default:
			return nil, fmt.Errorf("condition value %s is not a scalar", e)
		}
	}
	return out, nil
}

// parseConditions reads a Condition block.
func parseConditions(v json.RawMessage) ([]policyCondition, error) {
	var ops map[string]map[string]json.RawMessage
	if err := json.Unmarshal(v, &ops); err != nil {
		return nil, policyError("Policy has an invalid condition")
	}
	var out []policyCondition
	for op, keys := range ops {
		c := policyCondition{}
		name := op
		if p, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			name, c.forAll = p, true
		} else if p, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			name = p
		}
		if p, ok := strings.CutSuffix(name, "IfExists"); ok {
			name, c.ifExists = p, true
		}
		c.op = strings.ToLower(name)
		if !policyOps[c.op] {
			return nil, policyError("Invalid Condition type : " + op)
		}
		for k, raw := range keys {
			vals, err := scalarList(raw)
			if err != nil || len(vals) == 0 || k == "" {
				return nil, policyError("Policy has an invalid condition key")
			}
			cc := c
			cc.key, cc.values = strings.ToLower(k), vals
			if err := cc.validate(); err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

// validate checks that c's values suit its operator.
func (c policyCondition) validate() error {
	for _, v := range c.values {
		switch {
		case strings.HasPrefix(c.op, "numeric"):
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return policyError("Invalid numeric value in condition: " + v)
			}
		case strings.HasPrefix(c.op, "date"):
			if _, ok := parseDate(v); !ok {
				return policyError("Invalid date value in condition: " + v)
			}
		case c.op == "bool" || c.op == "null":
			if _, err := strconv.ParseBool(v); err != nil {
				return policyError("Invalid boolean value in condition: " + v)
			}
		case strings.HasSuffix(c.op, "ipaddress"):
			if _, err := parsePrefix(v); err != nil {
				return policyError("Invalid IP address in condition: " + v)
			}
		}
	}
	return nil
}

// parseDate reads a condition date: ISO 8601 (RFC 3339, or a bare date) or epoch seconds.
func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// parsePrefix reads a CIDR block or a single address.
func parsePrefix(v string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
