package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"testing"
)

// The published example of AWS's "Browser-Based Upload using HTTP POST (Using AWS
// Signature Version 4)": its base64 policy (CRLF line ends) and signature.
const (
	awsPostPolicy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	awsPostSig    = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	awsAccess     = "AKIAIOSFODNN7EXAMPLE"
	awsSecret     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func postVerifier() *Verifier {
	return &Verifier{Region: "us-east-1", Secret: func(ak string) (string, bool) { return awsSecret, ak == awsAccess }}
}

func TestVerifyPostV4(t *testing.T) {
	good := PostForm{Policy: awsPostPolicy, Algorithm: "AWS4-HMAC-SHA256",
		Credential: awsAccess + "/20151229/us-east-1/s3/aws4_request", Date: "20151229T000000Z", Signature: awsPostSig}
	ak, err := postVerifier().VerifyPost(good)
	if err != nil || ak != awsAccess {
		t.Fatalf("AWS example: %q, %v", ak, err)
	}
	for _, c := range []struct {
		name string
		edit func(*PostForm)
		want error
	}{
		{"policy changed", func(f *PostForm) { f.Policy += "IA==" }, ErrSignatureDoesNotMatch},
		{"signature not hex", func(f *PostForm) { f.Signature = "zz" }, ErrSignatureDoesNotMatch},
		{"unknown access key", func(f *PostForm) { f.Credential = "NOPE/20151229/us-east-1/s3/aws4_request" }, ErrInvalidAccessKeyID},
		{"other region", func(f *PostForm) { f.Credential = awsAccess + "/20151229/eu-west-1/s3/aws4_request" }, ErrAuthorizationQueryParametersError},
		{"other service", func(f *PostForm) { f.Credential = awsAccess + "/20151229/us-east-1/sts/aws4_request" }, ErrAuthorizationQueryParametersError},
		{"malformed credential", func(f *PostForm) { f.Credential = awsAccess }, ErrAuthorizationQueryParametersError},
		{"date of another day", func(f *PostForm) { f.Date = "20151230T000000Z" }, ErrAuthorizationQueryParametersError},
		{"SigV4A", func(f *PostForm) { f.Algorithm = algorithmV4A }, ErrUnsupportedSignature},
	} {
		f := good
		c.edit(&f)
		if _, err := postVerifier().VerifyPost(f); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestVerifyPostV2(t *testing.T) {
	m := hmac.New(sha1.New, []byte(awsSecret))
	m.Write([]byte(awsPostPolicy))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	f := PostForm{Policy: awsPostPolicy, AccessKeyID: awsAccess, SignatureV2: sig}
	if f.V4() {
		t.Fatal("a SigV2 form counts as SigV4")
	}
	if ak, err := postVerifier().VerifyPost(f); err != nil || ak != awsAccess {
		t.Fatalf("V2: %q, %v", ak, err)
	}
	for name, g := range map[string]PostForm{
		"wrong signature":    {Policy: awsPostPolicy, AccessKeyID: awsAccess, SignatureV2: base64.StdEncoding.EncodeToString(make([]byte, 20))},
		"signature not b64":  {Policy: awsPostPolicy, AccessKeyID: awsAccess, SignatureV2: "!!"},
		"unknown access key": {Policy: awsPostPolicy, AccessKeyID: "nobody", SignatureV2: sig},
	} {
		if _, err := postVerifier().VerifyPost(g); !errors.Is(err, ErrSignatureDoesNotMatch) && !errors.Is(err, ErrInvalidAccessKeyID) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
