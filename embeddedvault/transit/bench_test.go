package transit

import "testing"

// BenchmarkEncryptDecrypt is one encrypt and one decrypt of 32 bytes with
// an aes256-gcm96 key over logical storage.
func BenchmarkEncryptDecrypt(b *testing.B) {
	e := newEnv(b)
	e.must(up, "keys/k", nil)
	pt := map[string]any{"plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	b.ReportAllocs()
	for b.Loop() {
		ct := e.must(up, "encrypt/k", pt)["ciphertext"]
		if e.must(up, "decrypt/k", map[string]any{"ciphertext": ct})["plaintext"] != pt["plaintext"] {
			b.Fatal("round trip mismatch")
		}
	}
}
