package s3lite

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"strconv"
	"strings"
	"time"
)

// maxPostFields bounds the bytes of all form fields before the file of a POST upload,
// which are held in memory (the policy is among them).
const maxPostFields = 1 << 20

// postForm is a POST upload's form: its fields before the file (names lower-cased: S3
// matches them case-insensitively) and the file part, left unread for streaming.
type postForm struct {
	fields   map[string]string
	file     io.Reader
	filename string
}

// readPostForm reads fields until the part named "file" (fields after it are ignored, as
// S3 ignores them). A form without a file part is MalformedPOSTRequest.
func readPostForm(mr *multipart.Reader) (*postForm, error) {
	f := &postForm{fields: map[string]string{}}
	budget := int64(maxPostFields)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, withMsg(errMalformedPOST, "The body of your POST request is not well-formed multipart/form-data: no file field.")
		}
		if err != nil {
			return nil, errors.Join(errMalformedPOST, err)
		}
		name := strings.ToLower(p.FormName())
		if name == "" {
			continue
		}
		if name == "file" {
			f.file, f.filename = p, p.FileName()
			return f, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, budget+1))
		if err != nil {
			return nil, errors.Join(errMalformedPOST, err)
		}
		if budget -= int64(len(v)); budget < 0 {
			return nil, withMsg(errMaxPostPreData, "Your POST request fields preceding the upload file were too large.")
		}
		if _, dup := f.fields[name]; !dup {
			f.fields[name] = string(v)
		}
	}
}

// postPolicy is a decoded POST policy document.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
	// minSize and maxSize are the content-length-range; maxSize -1 when there is none.
	minSize, maxSize int64
}

// postCondition is one eq or starts-with condition on a form field (name lower-cased,
// without "$").
type postCondition struct {
	op, field, value string
}

// policyErr is an InvalidPolicyDocument error with a reason.
func policyErr(reason string) error {
	return withMsg(errInvalidPolicyDocument, "Invalid Policy: "+reason)
}

// parsePostPolicy decodes the base64 JSON policy b64: "expiration" (ISO 8601) and
// "conditions" are required (names case-sensitive); each condition is {"field": "value"}
// (eq), ["eq"|"starts-with", "$field", "value"] or ["content-length-range", min, max].
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, policyErr("the policy is not valid base64.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := strictJSON(raw, &doc); err != nil {
		return nil, policyErr("the policy is not valid JSON.")
	}
	if doc.Expiration == nil {
		return nil, policyErr("Policy missing expiration.")
	}
	exp, err := time.Parse(time.RFC3339, *doc.Expiration)
	if err != nil {
		return nil, policyErr("Invalid 'expiration' value: '" + *doc.Expiration + "'")
	}
	if doc.Conditions == nil {
		return nil, policyErr("Policy missing conditions.")
	}
	p := &postPolicy{expiration: exp, maxSize: -1}
	for _, c := range doc.Conditions {
		if err := p.addCondition(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// strictJSON decodes data into v with exact field names (encoding/json folds case).
func strictJSON(data []byte, v any) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return err
	}
	for k := range top {
		if k != "expiration" && k != "conditions" {
			delete(top, k)
		}
	}
	clean, _ := json.Marshal(top)
	return json.Unmarshal(clean, v)
}

func (p *postPolicy) addCondition(c json.RawMessage) error {
	c = bytes.TrimSpace(c)
	if len(c) > 0 && c[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c, &m); err != nil || len(m) != 1 {
			return policyErr("a condition object must have exactly one field.")
		}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return policyErr("the value of condition '" + k + "' must be a string.")
			}
			p.conditions = append(p.conditions, postCondition{op: "eq", field: strings.ToLower(strings.TrimPrefix(k, "$")), value: s})
		}
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(c, &a); err != nil || len(a) == 0 {
		return policyErr("a condition must be an object or an array.")
	}
	var op string
	if json.Unmarshal(a[0], &op) != nil {
		return policyErr("a condition must start with its operation.")
	}
	switch op = strings.ToLower(op); op {
	case "eq", "starts-with":
		var name, value string
		if len(a) != 3 || json.Unmarshal(a[1], &name) != nil || json.Unmarshal(a[2], &value) != nil || !strings.HasPrefix(name, "$") {
			return policyErr("the '" + op + "' condition takes a $field and a string.")
		}
		p.conditions = append(p.conditions, postCondition{op: op, field: strings.ToLower(name[1:]), value: value})
		return nil
	case "content-length-range":
		if len(a) != 3 {
			return policyErr("content-length-range takes a minimum and a maximum.")
		}
		lo, err1 := policyInt(a[1])
		hi, err2 := policyInt(a[2])
		if err1 != nil || err2 != nil || lo < 0 || hi < lo {
			return policyErr("Invalid content-length-range.")
		}
		p.minSize, p.maxSize = lo, hi
		return nil
	}
	return policyErr("Invalid condition operation '" + op + "'.")
}

// policyInt reads a JSON integer, or a string holding one (both occur in the wild).
func policyInt(v json.RawMessage) (int64, error) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return strconv.ParseInt(s, 10, 64)
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, err
	}
	return n.Int64()
}

// postExempt reports whether form field name needs no policy condition: the signature
// and policy themselves, x-ignore-*, the SigV4 and checksum fields, and the SSE fields
// (minio-go's PostPolicy.SetEncryption sends them without a condition, and MinIO takes
// them so; they choose how the server encrypts, not what the form may store).
func postExempt(name string) bool {
	switch name {
	case "policy", "signature", "x-amz-signature", "awsaccesskeyid", "file", "bucket",
		"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-") || strings.HasPrefix(name, "x-amz-checksum-") ||
		strings.HasPrefix(name, "x-amz-server-side-encryption")
}

// check applies p to the form fields of a POST to bucket storing key: every condition
// must hold (a missing field counts as empty), the bucket must be named by one, and every
// field but the exempt ones must be named by one. A failure is AccessDenied.
func (p *postPolicy) check(fields map[string]string, bucket, key string) error {
	covered := map[string]bool{}
	value := func(name string) string {
		switch name {
		case "bucket":
			return bucket
		case "key":
			return key
		}
		return fields[name]
	}
	for _, c := range p.conditions {
		covered[c.field] = true
		v := value(c.field)
		ok := v == c.value
		if c.op == "starts-with" {
			ok = strings.HasPrefix(v, c.value)
			if c.field == "content-type" && ok {
				for _, t := range strings.Split(v, ",") {
					ok = ok && strings.HasPrefix(strings.TrimSpace(t), c.value)
				}
			}
		}
		if !ok {
			return withMsg(errAccessDenied, "Invalid according to Policy: Policy Condition failed: [\""+c.op+"\", \"$"+c.field+"\", \""+c.value+"\"]")
		}
	}
	if !covered["bucket"] {
		return withMsg(errAccessDenied, "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$bucket\", \""+bucket+"\"]")
	}
	for name := range fields {
		if !postExempt(name) && !covered[name] {
			return withMsg(errAccessDenied, "Invalid according to Policy: Extra input fields: "+name)
		}
	}
	return nil
}
