package kescore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// Vectors below were produced by real KES and are published in
// minio/kes internal/crypto/key_test.go (data only, no code).

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKey(t testing.TB, typ keyType, key string) *masterKey {
	k := &masterKey{typ: typ}
	copy(k.key[:], b64(t, key))
	return k
}

const (
	zeroKey  = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	otherKey = "dDHbTWgo+Yh3u804SYB5OyVMy6RiLeJYBQth1f6KlEU="
)

func TestDecryptRealKESVectors(t *testing.T) {
	tests := []struct {
		name       string
		typ        keyType
		key        string
		plaintext  string
		ciphertext []byte
		assoc      string
	}{
		{"json-aes", typeAES256, zeroKey, "AAAAAAAAAAAAAAAAAAAAAA==",
			[]byte(`{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}`), ""},
		{"json-chacha", typeChaCha20, zeroKey, "AAAAAAAAAAAAAAAAAAAAAA==",
			[]byte(`{"aead":"ChaCha20Poly1305","iv":"s3fSZ6vk5m+DfQA8yZWeUg==","nonce":"8/kHMnCMs3h9NZ2a","bytes":"cw22HjLq/4cx8507SW4hhSrYbDiMuRao4b5+GE+XfbE="}`), ""},
		{"json-chacha-id", typeChaCha20, zeroKey, "AAAAAAAAAAAAAAAAAAAAAA==",
			[]byte(`{"aead":"ChaCha20Poly1305","id":"66687aadf862bd776c8fc18b8e9f8e20","iv":"EC0eZp7Pqt+LnkOae5xaAg==","nonce":"X1ejXKmH/ugFZPkk","bytes":"wIGBTDs6aOvsqJfekZ0PYRT/OHyFX2TXqeNwl1SLXOI="}`), ""},
		{"msgpack-aes", typeAES256, zeroKey, "AAAAAAAAAAAAAAAAAAAAAA==",
			b64(t, "lbFBRVMyNTYtR0NNX1NIQTI1NtkgNjY2ODdhYWRmODYyYmQ3NzZjOGZjMThiOGU5ZjhlMjDEEExv7LAd4oz0SaHZrX5LBufEDEKME1ow1CDfUFrqv8QgJuy7Sw+jVqz99TK1HV851LT3K4mwwDv46TB2ngWkAJQ="), ""},
		{"msgpack-chacha", typeChaCha20, zeroKey, "AAAAAAAAAAAAAAAAAAAAAA==",
			b64(t, "lbJYQ0hBQ0hBMjAtUE9MWTEzMDXZIDY2Njg3YWFkZjg2MmJkNzc2YzhmYzE4YjhlOWY4ZTIwxBBAr+aptD4x2+qfOhiErbnkxAxYs8RmNC1JJXD1hiHEIJ2KqM0jjkME7ndx8nyVseesN83Np0rM5ejVUun+fNFu"), ""},
		{"binary-aes", typeAES256, zeroKey, "AAAAAAAAAAAAAAAAAAAAAA==",
			b64(t, "zwdDgHeRlIFRnJ7+DIhs/ka7GFK2CFSfDELqg1VCyTQzZ58o7MAdupMLk3ZjlMo2ZUDwldL2o41nAWDc"), ""},
		{"binary-aes-context", typeAES256, otherKey, "CLcJoykFCWZDkEIiUq9bJRqwCwW9ZDvdgu8EMA==",
			b64(t, "s2gmfQHeGdlyL8x1yEWSACUV3GrSoz3t160hugMgzKWgyqesXDVUJ5Dw5Mt076rR1PNiU9X4YjLH14D8a81t2r2xsz4gVZac"), "AAAAAAAAAAAAAAAAAAAAAA=="},
		{"binary-chacha-context", typeChaCha20, otherKey, "CLcJoykFCWZDkEIiUq9bJRqwCwW9ZDvdgu8EMA==",
			b64(t, "gO4woRIswAJdjUjW7z2ApsSQxJlwB24yjLrmH4eI7sB0uh5nfEJfk9ybTPFft5FRFaZCVBmzhx7OJs9n0WWtxH3sySIxecIK"), "AAAAAAAAAAAAAAAAAAAAAA=="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := testKey(t, tc.typ, tc.key)
			assoc := b64(t, tc.assoc)
			got, err := k.decrypt(tc.ciphertext, assoc)
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if want := b64(t, tc.plaintext); !bytes.Equal(got, want) {
				t.Fatalf("got %x want %x", got, want)
			}
			if _, err := k.decrypt(tc.ciphertext, []byte("wrong context")); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("wrong context: got %v want ErrDecrypt", err)
			}
		})
	}
}

func TestDecryptRejects(t *testing.T) {
	k := testKey(t, typeAES256, zeroKey)
	c := testKey(t, typeChaCha20, zeroKey)
	tests := []struct {
		name string
		key  *masterKey
		ct   []byte
	}{
		{"json-bad-alg", k, []byte(`{"aead":"AES-256-GCM","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}`)},
		{"json-bad-iv", k, []byte(`{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"EjOY4JKqjIrPmQ5z1KSR8zlhggY=","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}`)},
		{"json-bad-nonce", c, []byte(`{"aead":"ChaCha20Poly1305","iv":"s3fSZ6vk5m+DfQA8yZWeUg==","nonce":"SXAbms731/c=","bytes":"cw22HjLq/4cx8507SW4hhSrYbDiMuRao4b5+GE+XfbE="}`)},
		{"json-not-authentic", k, []byte(`{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"QTza1g5oX3f9cGJMbY1xJwWPj1F7R2VnNl6XpFKYQy0="}`)},
		{"json-chacha-not-authentic", c, []byte(`{"aead":"ChaCha20Poly1305","iv":"s3fSZ6vk5m+DfQA8yZWeUg==","nonce":"8/kHMnCMs3h9NZ2a","bytes":"TTi8pkO+Jh1JWAHvPxZeUk/iVoBPUCE4ZSVGBy3fW2s="}`)},
		{"json-invalid", k, []byte(`{"aead":"AES-256-GCM-HMAC-SHA-256" "iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}`)},
		{"empty", k, nil},
		{"28-bytes", k, make([]byte, 28)},
		{"29-bytes", k, make([]byte, 29)},
		{"garbage", k, []byte("this is not a ciphertext at all, not even close")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.key.decrypt(tc.ct, nil); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("got %v, want ErrDecrypt", err)
			}
		})
	}
}

// TestEncryptFormat checks the layout and the AES key derivation of the
// binary format with an independent computation: HMAC-SHA256(key, iv) as
// the AES-256-GCM key, ciphertext||tag||iv||nonce.
func TestEncryptFormat(t *testing.T) {
	k := testKey(t, typeAES256, otherKey)
	plaintext := bytes.Repeat([]byte{7}, 32)
	assoc := []byte(`{"bucket":"object"}`)
	ct, err := k.encrypt(plaintext, assoc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != 76 {
		t.Fatalf("len %d, want 76", len(ct))
	}
	iv, nonce := ct[48:64], ct[64:]
	mac := hmac.New(sha256.New, b64(t, otherKey))
	mac.Write(iv)
	block, _ := aes.NewCipher(mac.Sum(nil))
	gcm, _ := cipher.NewGCM(block)
	got, err := gcm.Open(nil, nonce, ct[:48], assoc)
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("independent open: %v", err)
	}
	for _, typ := range []keyType{typeAES256, typeChaCha20} {
		k := testKey(t, typ, otherKey)
		ct, err := k.encrypt(plaintext, assoc)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := k.decrypt(ct, assoc); err != nil || !bytes.Equal(p, plaintext) {
			t.Fatalf("%v round trip: %v", typ, err)
		}
		for i := range ct {
			bad := bytes.Clone(ct)
			bad[i] ^= 1
			if _, err := k.decrypt(bad, assoc); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("%v: flipped byte %d: got %v", typ, i, err)
			}
		}
		if _, err := k.decrypt(ct[:len(ct)-1], assoc); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%v truncated: got %v", typ, err)
		}
	}
}

// realRecord is a protobuf KeyVersion record written by real KES.
const realRecord = "CiQKIMiHG7XrN94FuwblJJor4f7f6rbqAl7DwsLaiIoyz0D2EAESJAognLXl4yqa4cjZTcSbsU6sNnN8kP9ARWkXwa20YQZa9HgQARoMCNithK0GEID67qYDIkAzZWNmY2RmMzhmY2JlMTQxYWUyNmExMDMwZjgxZTk2Yjc1MzM2NWE0Njc2MGFlNmI1Nzg2OThhOTdjNTlmZDIy"

func TestParseRecord(t *testing.T) {
	created, _ := time.Parse(time.RFC3339Nano, "2024-01-12T11:39:20.886816+01:00")
	tests := []struct {
		name    string
		raw     string
		typ     keyType
		key     string
		hmacKey string
		at      time.Time
		by      string
	}{
		{"v0.7", `{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="}`, typeAES256, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", "", time.Time{}, ""},
		{"json-aes", `{"bytes":"J8qmOyEV2ce2yoAC+5t0Y7CSP/hTMppL7XHpAnyc+0E=","algorithm":"AES256-GCM_SHA256","created_at":"2009-11-10T23:00:00Z","created_by":"40235905b7b83e0537a002db523cd019d6709b899adc249c957860cd00fa9f78"}`,
			typeAES256, "J8qmOyEV2ce2yoAC+5t0Y7CSP/hTMppL7XHpAnyc+0E=", "", time.Date(2009, 11, 10, 23, 0, 0, 0, time.UTC), "40235905b7b83e0537a002db523cd019d6709b899adc249c957860cd00fa9f78"},
		{"json-chacha", `{"bytes":"9ew6BCae3+13sniOUwttEJ62amg98YXc0OW0WBhNiCY=","algorithm":"XCHACHA20-POLY1305","created_at":"2009-11-10T23:00:00Z","created_by":"189d9de5331e3ee8abe9e4bd40d474ad621d79ccf83a711f6ac68050eb15a52a"}`,
			typeChaCha20, "9ew6BCae3+13sniOUwttEJ62amg98YXc0OW0WBhNiCY=", "", time.Date(2009, 11, 10, 23, 0, 0, 0, time.UTC), "189d9de5331e3ee8abe9e4bd40d474ad621d79ccf83a711f6ac68050eb15a52a"},
		{"protobuf", realRecord, typeAES256, "yIcbtes33gW7BuUkmivh/t/qtuoCXsPCwtqIijLPQPY=", "nLXl4yqa4cjZTcSbsU6sNnN8kP9ARWkXwa20YQZa9Hg=", created, "3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := parseRecord([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if k.typ != tc.typ || !bytes.Equal(k.key[:], b64(t, tc.key)) {
				t.Fatalf("key %v %x", k.typ, k.key)
			}
			if !bytes.Equal(k.hmacKey, b64(t, tc.hmacKey)) {
				t.Fatalf("hmac key %x", k.hmacKey)
			}
			if !k.createdAt.Equal(tc.at) || k.createdBy != tc.by {
				t.Fatalf("created %v by %q", k.createdAt, k.createdBy)
			}
		})
	}
	for _, bad := range []string{
		`"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		`{bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		`{"bytes"."AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		`{"bytes":"AAAA"}`,
		`{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","algorithm":"DES"}`,
		"", "Cg==", "CiIKIA==",
	} {
		if _, err := parseRecord([]byte(bad)); err == nil {
			t.Errorf("parseRecord(%q) succeeded", bad)
		}
	}
}

// TestEncodeRecordMatchesKES re-encodes the real KES record: the bytes must
// be identical, so records kescore writes are the ones KES writes.
func TestEncodeRecordMatchesKES(t *testing.T) {
	k, err := parseRecord([]byte(realRecord))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(encodeRecord(k)); got != realRecord {
		t.Fatalf("got  %s\nwant %s", got, realRecord)
	}
	fresh, err := newMasterKey(typeChaCha20, "someone", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseRecord(encodeRecord(fresh))
	if err != nil {
		t.Fatal(err)
	}
	if back.typ != fresh.typ || back.key != fresh.key || !bytes.Equal(back.hmacKey, fresh.hmacKey) ||
		!back.createdAt.Equal(fresh.createdAt) || back.createdBy != fresh.createdBy {
		t.Fatalf("round trip mismatch: %+v vs %+v", back, fresh)
	}
}

func FuzzDecrypt(f *testing.F) {
	k := &masterKey{typ: typeAES256}
	f.Add([]byte(`{"aead":"AES-256-GCM-HMAC-SHA-256","iv":"xLxIN3tSCkg2xMafuvwUwg==","nonce":"gu0mGwUkwcvMEoi5","bytes":"WVgRjeIJm3w50C/l+y7y2i6mbNg5NCAqN1zvOYWZKmc="}`))
	f.Add(b64(f, "lbFBRVMyNTYtR0NNX1NIQTI1NtkgNjY2ODdhYWRmODYyYmQ3NzZjOGZjMThiOGU5ZjhlMjDEEExv7LAd4oz0SaHZrX5LBufEDEKME1ow1CDfUFrqv8QgJuy7Sw+jVqz99TK1HV851LT3K4mwwDv46TB2ngWkAJQ="))
	f.Add(b64(f, "zwdDgHeRlIFRnJ7+DIhs/ka7GFK2CFSfDELqg1VCyTQzZ58o7MAdupMLk3ZjlMo2ZUDwldL2o41nAWDc"))
	f.Fuzz(func(t *testing.T, ct []byte) {
		for _, typ := range []keyType{typeAES256, typeChaCha20} {
			k.typ = typ
			p, err := k.decrypt(ct, nil)
			if err != nil && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			if err == nil {
				// Only authentic ciphertexts open; re-encrypting must round trip.
				ct2, _ := k.encrypt(p, nil)
				if p2, err := k.decrypt(ct2, nil); err != nil || !bytes.Equal(p, p2) {
					t.Fatal("round trip failed")
				}
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(realRecord))
	f.Add([]byte(`{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="}`))
	f.Add([]byte(`{"bytes":"9ew6BCae3+13sniOUwttEJ62amg98YXc0OW0WBhNiCY=","algorithm":"XCHACHA20-POLY1305"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := parseRecord(raw)
		if err != nil {
			return
		}
		back, err := parseRecord(encodeRecord(k))
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		if back.key != k.key || back.typ != k.typ || !bytes.Equal(back.hmacKey, k.hmacKey) || back.createdBy != k.createdBy {
			t.Fatal("record changed in round trip")
		}
	})
}
