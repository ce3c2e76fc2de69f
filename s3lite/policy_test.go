package s3lite

import (
	"errors"
	"strings"
	"testing"
)

// pol builds a one-statement policy for bucket "b" from the statement's JSON body.
func pol(stmt string) string {
	return `{"Version":"2012-10-17","Statement":[{` + stmt + `}]}`
}

func TestParsePolicyErrors(t *testing.T) {
	big := `{"Version":"2012-10-17","Statement":[` + strings.Repeat(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},`, 300) + `{}]}`
	cases := []struct {
		name, doc, msg string
	}{
		{"not json", `not json`, "Policies must be valid JSON and the first byte must be '{'"},
		{"broken json", `{"Version":`, "This policy contains invalid Json"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, "The policy must contain a valid version string"},
		{"no statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty statement", `{"Version":"2012-10-17","Statement":[]}`, "Could not parse the policy: Statement is empty!"},
		{"unknown top field", `{"Version":"2012-10-17","Foo":1,"Statement":[]}`, "Unknown field Foo"},
		{"no effect", pol(`"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), "Missing required field Effect"},
		{"bad effect", pol(`"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), "Invalid effect: Maybe"},
		{"no principal", pol(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), "Missing required field Principal"},
		{"not principal", pol(`"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), "Policy has an invalid principal: NotPrincipal is not supported"},
		{"bad principal", pol(`"Effect":"Allow","Principal":"someone","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), "Invalid principal in policy"},
		{"no action", pol(`"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::b/*"`), "Missing required field Action"},
		{"both actions", pol(`"Effect":"Allow","Principal":"*","Action":"s3:*","NotAction":"s3:Get*","Resource":"arn:aws:s3:::b/*"`), "Statement must not contain both Action and NotAction"},
		{"iam action", pol(`"Effect":"Allow","Principal":"*","Action":"iam:PassRole","Resource":"arn:aws:s3:::b/*"`), "Policy has invalid action"},
		{"no resource", pol(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject"`), "Missing required field Resource"},
		{"other bucket", pol(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"`), "Policy has invalid resource"},
		{"not s3 arn", pol(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:iam:::b/*"`), "Policy has invalid resource"},
		{"bad operator", pol(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEqualz":{"s3:prefix":"a"}}`), "Invalid Condition type : StringEqualz"},
		{"bad number", pol(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}`), "Invalid numeric value in condition: ten"},
		{"bad date", pol(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}`), "Invalid date value in condition: soon"},
		{"bad cidr", pol(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300/8"}}`), "Invalid IP address in condition: 10.0.0.300/8"},
		{"too large", big, "Policy exceeds the maximum allowed document size."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parsePolicy([]byte(c.doc), "b")
			if !errors.Is(err, errMalformedPolicy) {
				t.Fatalf("err = %v, want MalformedPolicy", err)
			}
			if a := toAPIError(err); a.Message != c.msg || a.Code != "MalformedPolicy" || a.Status != 400 {
				t.Fatalf("got %+v, want message %q", a, c.msg)
			}
		})
	}
}

func TestPolicyEvaluate(t *testing.T) {
	anon := func(action, res string, keys map[string][]string) *policyRequest {
		return &policyRequest{action: action, resource: res, anonymous: true, keys: keys}
	}
	owner := func(action, res string) *policyRequest {
		return &policyRequest{action: action, resource: res, ids: []string{"6f776e6572", "owner"}, keys: map[string][]string{}}
	}
	cases := []struct {
		name, stmt string
		req        *policyRequest
		want       policyEffect
	}{
		{"public read", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`, anon("s3:GetObject", "b/k", nil), policyAllow},
		{"public read is no put", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`, anon("s3:PutObject", "b/k", nil), policyNone},
		{"aws star principal", `"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:Get*"],"Resource":["arn:aws:s3:::b/*"]`, anon("s3:GetObjectAcl", "b/k", nil), policyAllow},
		{"action case", `"Effect":"Allow","Principal":"*","Action":"S3:getobject","Resource":"arn:aws:s3:::b/*"`, anon("s3:GetObject", "b/k", nil), policyAllow},
		{"bucket resource is not objects", `"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"`, anon("s3:GetObject", "b/k", nil), policyNone},
		{"question mark", `"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/k?"`, anon("s3:GetObject", "b/k1", nil), policyAllow},
		{"question mark one char", `"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/k?"`, anon("s3:GetObject", "b/k12", nil), policyNone},
		{"not action", `"Effect":"Deny","Principal":"*","NotAction":"s3:Get*","Resource":"arn:aws:s3:::b/*"`, anon("s3:PutObject", "b/k", nil), policyDeny},
		{"not resource", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/secret/*"`, anon("s3:GetObject", "b/secret/x", nil), policyNone},
		{"owner principal", `"Effect":"Deny","Principal":{"CanonicalUser":"6f776e6572"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"`, owner("s3:DeleteObject", "b/k"), policyDeny},
		{"other principal", `"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123:user/bob"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"`, owner("s3:DeleteObject", "b/k"), policyNone},
		{"anonymous not named", `"Effect":"Allow","Principal":{"AWS":"owner"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"`, anon("s3:GetObject", "b/k", nil), policyNone},
		{"secure transport", `"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:securetransport": {"false"}}), policyDeny},
		{"secure transport https", `"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:securetransport": {"true"}}), policyNone},
		{"prefix like", `"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["public/*","shared/*"]}}`, anon("s3:ListBucket", "b", map[string][]string{"s3:prefix": {"shared/x"}}), policyAllow},
		{"prefix missing", `"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"public/*"}}`, anon("s3:ListBucket", "b", map[string][]string{}), policyNone},
		{"not equals missing", `"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}`, anon("s3:PutObject", "b/k", map[string][]string{}), policyDeny},
		{"not equals set", `"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}`, anon("s3:PutObject", "b/k", map[string][]string{"s3:x-amz-server-side-encryption": {"AES256"}}), policyNone},
		{"null", `"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}`, anon("s3:PutObject", "b/k", map[string][]string{}), policyDeny},
		{"if exists missing", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringLikeIfExists":{"aws:Referer":"http://x/*"}}`, anon("s3:GetObject", "b/k", map[string][]string{}), policyAllow},
		{"if exists mismatch", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringLikeIfExists":{"aws:Referer":"http://x/*"}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:referer": {"http://y/"}}), policyNone},
		{"ip in", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:sourceip": {"10.1.2.3"}}), policyAllow},
		{"ip out", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:sourceip": {"::1"}}), policyNone},
		{"max keys", `"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericLessThanEquals":{"s3:max-keys":10}}`, anon("s3:ListBucket", "b", map[string][]string{"s3:max-keys": {"10"}}), policyAllow},
		{"max keys over", `"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericLessThan":{"s3:max-keys":10}}`, anon("s3:ListBucket", "b", map[string][]string{"s3:max-keys": {"10"}}), policyNone},
		{"equals ignore case", `"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEqualsIgnoreCase":{"s3:x-amz-acl":"PUBLIC-READ"}}`, anon("s3:PutObject", "b/k", map[string][]string{"s3:x-amz-acl": {"public-read"}}), policyAllow},
		{"arn like", `"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::src*"}}`, anon("s3:PutObject", "b/k", map[string][]string{"aws:sourcearn": {"arn:aws:s3:::src-bucket"}}), policyAllow},
		{"arn not equals", `"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::src"}}`, anon("s3:PutObject", "b/k", map[string][]string{"aws:sourcearn": {"arn:aws:s3:::src"}}), policyNone},
		{"date before", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:currenttime": {"2026-12-07T05:00:00Z"}}), policyAllow},
		{"date after", `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"DateGreaterThan":{"aws:EpochTime":1893456000}}`, anon("s3:GetObject", "b/k", map[string][]string{"aws:epochtime": {"1796000000"}}), policyNone},
		{"for all values", `"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"s3:RequestObjectTagKeys":["a","b"]}}`, anon("s3:PutObject", "b/k", map[string][]string{"s3:requestobjecttagkeys": {"a", "c"}}), policyNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := parsePolicy([]byte(pol(c.stmt)), "b")
			if err != nil {
				t.Fatal(err)
			}
			if c.req.keys == nil {
				c.req.keys = map[string][]string{}
			}
			if got := doc.evaluate(c.req); got != c.want {
				t.Fatalf("evaluate = %d, want %d", got, c.want)
			}
		})
	}
}

func TestPolicyDenyWins(t *testing.T) {
	doc, err := parsePolicy([]byte(`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3:::*/*"}}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	req := &policyRequest{action: "s3:GetObject", resource: "b/k", anonymous: true}
	if got := doc.evaluate(req); got != policyAllow {
		t.Fatalf("single statement object: %d", got)
	}
	doc.statements = append(doc.statements, policyStatement{deny: true, anyone: true, actions: []string{"s3:getobject"}, resources: []string{"b/k"}})
	if got := doc.evaluate(req); got != policyDeny {
		t.Fatalf("allow and deny: %d, want deny", got)
	}
}

func TestPolicyIsPublic(t *testing.T) {
	cases := []struct {
		stmt string
		want bool
	}{
		{`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`, true},
		{`"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`, false},
		{`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`, false},
		{`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/32"}}`, false},
		{`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, true},
		{`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringLike":{"aws:Referer":"x"}}`, true},
	}
	for i, c := range cases {
		doc, err := parsePolicy([]byte(pol(c.stmt)), "b")
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.isPublic(); got != c.want {
			t.Errorf("case %d: isPublic = %v, want %v", i, got, c.want)
		}
	}
}

func TestWildMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"a?c", "abc", true},
		{"*/*", "b/k/x", true}, {"b/*", "c/k", false}, {"**a", "bba", true}, {"a", "a", true}, {"", "a", false},
	}
	for _, c := range cases {
		if got := wildMatch(c.p, c.s); got != c.want {
			t.Errorf("wildMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// FuzzParsePolicy checks that the parser never panics, that what it accepts evaluates
// without panicking, and that it refuses only with MalformedPolicy. Seeds:
// testdata/fuzz/FuzzParsePolicy.
func FuzzParsePolicy(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parsePolicy(data, "b")
		if err != nil {
			if !errors.Is(err, errMalformedPolicy) {
				t.Fatalf("error %v is not MalformedPolicy", err)
			}
			return
		}
		for _, a := range []string{"s3:GetObject", "s3:ListBucket", "s3:PutObject"} {
			for _, anon := range []bool{true, false} {
				pr := &policyRequest{action: a, resource: "b/k", anonymous: anon, ids: []string{"x"},
					keys: map[string][]string{"aws:sourceip": {"10.0.0.1"}, "s3:prefix": {"p"}, "aws:securetransport": {"true"}}}
				_ = doc.evaluate(pr)
			}
		}
		_ = doc.isPublic()
		if len(doc.statements) == 0 {
			t.Fatal("accepted a policy without statements")
		}
	})
}
