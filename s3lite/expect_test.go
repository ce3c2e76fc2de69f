package s3lite

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// TestExpectContinueEmptyBody plays botocore's upload of an empty file followed by a
// non-empty one on one connection, both with "Expect: 100-continue": each must get the
// interim 100 before its final answer. Without it for the empty body, botocore keeps the
// final status line for the connection and misparses the next upload (a 60 s stall in
// `aws s3 sync` of a tree with an empty file).
func TestExpectContinueEmptyBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bk := e.bucket("expect")
	conn, err := tls.Dial("tcp", strings.TrimPrefix(e.ts.URL, "https://"), e.ts.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)

	put := func(key, body string, wantFinal int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+bk+"/"+key, nil)
		req.ContentLength = int64(len(body))
		req.Header.Set("Expect", "100-continue")
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if wantFinal != http.StatusForbidden {
			req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
		}
		// The head alone, as a client waiting for 100 Continue sends it.
		var head strings.Builder
		head.WriteString("PUT " + req.URL.RequestURI() + " HTTP/1.1\r\nHost: " + req.URL.Host + "\r\n")
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
		if err := req.Header.Write(&head); err != nil {
			t.Fatal(err)
		}
		head.WriteString("\r\n")
		if _, err := conn.Write([]byte(head.String())); err != nil {
			t.Fatal(err)
		}
		interim, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("%s: reading the first answer: %v", key, err)
		}
		if interim.StatusCode != http.StatusContinue {
			t.Fatalf("%s (%d body bytes): first answer %s, want 100 Continue", key, len(body), interim.Status)
		}
		if _, err := conn.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		final, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("%s: reading the final answer: %v", key, err)
		}
		final.Body.Close()
		if final.StatusCode != wantFinal {
			t.Fatalf("%s: final answer %s, want %d", key, final.Status, wantFinal)
		}
	}
	put("empty", "", http.StatusOK)
	put("after-empty", "hello", http.StatusOK)
	put("empty-again", "", http.StatusOK)
	put("unsigned-empty", "", http.StatusForbidden) // an early error answer still comes after the 100
	put("last", "world", http.StatusOK)

	for key, want := range map[string]string{"empty": "", "after-empty": "hello", "last": "world"} {
		obj, err := e.mc.GetObject(context.Background(), bk, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", key, got, err, want)
		}
	}
}
