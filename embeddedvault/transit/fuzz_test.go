package transit

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecrypt feeds arbitrary ciphertext strings to decrypt: the answer
// must be a 400 (never a panic or a 500), and a success only for the real
// ciphertext.
func FuzzDecrypt(f *testing.F) {
	e := newEnv(f)
	e.must(up, "keys/k", nil)
	valid := encryptHello(e, "k", nil)
	for _, s := range []string{valid, "vault:v1:", "vault:v0:AAAA", "vault:v-1:AAAA", "vault:v99999999999:AAAA", "vault:v1:!!", "vault:", "", "vault:v1:AAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		resp, err := e.do(up, "decrypt/k", map[string]any{"ciphertext": ct})
		out := outcomeOf(up, resp, err)
		switch {
		case out.Status == 200 && ct != valid:
			// Only a re-encoding of the valid ciphertext may open.
			if out.Data.(map[string]any)["plaintext"] != helloB64 {
				t.Fatalf("forged ciphertext %q opened to %v", ct, out.Data)
			}
		case out.Status != 200 && out.Status != 400:
			t.Fatalf("ciphertext %q: status %d %v", ct, out.Status, out.Errors)
		}
	})
}

// FuzzBatchInput feeds arbitrary JSON as encrypt's batch_input, decoded
// like the HTTP layer does (UseNumber): no panic, and every 200/400 batch
// answer has one result per item.
func FuzzBatchInput(f *testing.F) {
	e := newEnv(f)
	e.must(up, "keys/k", nil)
	for _, s := range []string{
		`[{"plaintext":"aGVsbG8="}]`,
		`[{"plaintext":"aGVsbG8=","reference":"a"},{"plaintext":"!!"}]`,
		`[{"plaintext":"aGVsbG8=","key_version":1.5}]`,
		`[{"plaintext":"aGVsbG8=","key_version":"2"}]`,
		`[{"plaintext":1}]`, `[1]`, `[]`, `{}`, `"x"`, `null`,
		`[{"plaintext":"aGVsbG8=","context":"YQ=="},{"plaintext":"aGVsbG8="}]`,
		`[{"plaintext":"aGVsbG8=","associated_data":"%%"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var batch any
		if dec.Decode(&batch) != nil {
			return
		}
		for _, path := range []string{"encrypt/k", "decrypt/k", "rewrap/k", "hmac/k", "sign/k", "verify/k"} {
			resp, err := e.do(up, path, map[string]any{"batch_input": batch})
			out := outcomeOf(up, resp, err)
			if out.Status == 0 {
				t.Fatalf("%s: no status for %s", path, raw)
			}
			m, _ := out.Data.(map[string]any)
			if results, ok := m["batch_results"]; ok {
				items, _ := batch.([]any)
				if n := lenOf(results); n != len(items) {
					t.Fatalf("%s: %d results for %d items", path, n, len(items))
				}
			}
		}
	})
}

func lenOf(v any) int {
	raw, _ := json.Marshal(v)
	var list []any
	_ = json.Unmarshal(raw, &list)
	return len(list)
}
