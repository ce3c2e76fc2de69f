package kescore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tinylib/msgp/msgp"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// keyType is the cipher of a master key. The values are the ones real KES
// writes into the protobuf record.
type keyType uint32

const (
	typeAES256   keyType = 1 // AES-256-GCM, sealing key = HMAC-SHA256(key, iv)
	typeChaCha20 keyType = 2 // ChaCha20-Poly1305, sealing key = HChaCha20(key, iv)
)

const (
	keySize    = 32
	ivSize     = 16
	nonceSize  = 12
	randSize   = ivSize + nonceSize
	hashSHA256 = 1 // HMACKey.Hash value for SHA-256
)

func (t keyType) String() string {
	switch t {
	case typeAES256:
		return "AES256"
	case typeChaCha20:
		return "ChaCha20"
	default:
		return fmt.Sprintf("!INVALID:%d", uint32(t))
	}
}

// parseKeyType accepts the algorithm names KES accepts in import requests
// and legacy key records.
func parseKeyType(s string) (keyType, bool) {
	switch s {
	case "AES256", "AES256-GCM_SHA256":
		return typeAES256, true
	case "ChaCha20", "XCHACHA20-POLY1305":
		return typeChaCha20, true
	}
	return 0, false
}

// masterKey is one key version: the secret key, its optional HMAC key and
// who created it when.
type masterKey struct {
	typ       keyType
	key       [keySize]byte
	hmacKey   []byte // 32 bytes or nil for records written before HMAC keys existed
	createdAt time.Time
	createdBy string
}

// newMasterKey generates a fresh key of the given type with an HMAC key.
func newMasterKey(typ keyType, createdBy string, now time.Time) (*masterKey, error) {
	k := &masterKey{typ: typ, hmacKey: make([]byte, 32), createdAt: now.UTC(), createdBy: createdBy}
	if _, err := rand.Read(k.key[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(k.hmacKey); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *masterKey) aead(iv []byte) (cipher.AEAD, error) {
	switch k.typ {
	case typeAES256:
		mac := hmac.New(sha256.New, k.key[:])
		mac.Write(iv)
		block, err := aes.NewCipher(mac.Sum(nil))
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	case typeChaCha20:
		sealKey, err := chacha20.HChaCha20(k.key[:], iv)
		if err != nil {
			return nil, err
		}
		return chacha20poly1305.New(sealKey)
	default:
		return nil, fmt.Errorf("kescore: unknown key type %d", uint32(k.typ))
	}
}

// encrypt seals plaintext in the current KES format:
// AEAD output || iv (16 bytes) || nonce (12 bytes).
func (k *masterKey) encrypt(plaintext, associatedData []byte) ([]byte, error) {
	var random [randSize]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, err
	}
	aead, err := k.aead(random[:ivSize])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(plaintext)+aead.Overhead()+randSize)
	out = aead.Seal(out, random[ivSize:], plaintext, associatedData)
	return append(out, random[:]...), nil
}

// decrypt opens a ciphertext of any format KES has produced. Every failure
// is ErrDecrypt.
func (k *masterKey) decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	ciphertext = normalizeCiphertext(ciphertext)
	if len(ciphertext) <= randSize {
		return nil, ErrDecrypt
	}
	sealed := ciphertext[:len(ciphertext)-randSize]
	random := ciphertext[len(ciphertext)-randSize:]
	aead, err := k.aead(random[:ivSize])
	if err != nil {
		return nil, ErrDecrypt
	}
	plaintext, err := aead.Open(nil, random[ivSize:], sealed, associatedData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// hmacSum returns HMAC-SHA256 of msg under the key's HMAC key.
func (k *masterKey) hmacSum(msg []byte) ([]byte, bool) {
	if len(k.hmacKey) != 32 {
		return nil, false
	}
	mac := hmac.New(sha256.New, k.hmacKey)
	mac.Write(msg)
	return mac.Sum(nil), true
}

// normalizeCiphertext converts the legacy JSON and msgpack ciphertexts
// into the binary layout. Input that does not parse as a legacy format is
// returned unchanged: a binary ciphertext may start with '{' or 0x95 too.
func normalizeCiphertext(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	var iv, nonce, sealed []byte
	var ok bool
	switch b[0] {
	case 0x95:
		iv, nonce, sealed, ok = parseMsgpackCiphertext(b)
	case '{':
		iv, nonce, sealed, ok = parseJSONCiphertext(b)
	}
	if !ok {
		return b
	}
	out := make([]byte, 0, len(sealed)+randSize)
	out = append(out, sealed...)
	out = append(out, iv...)
	return append(out, nonce...)
}

func parseJSONCiphertext(b []byte) (iv, nonce, sealed []byte, ok bool) {
	var v struct {
		AEAD  string `json:"aead"`
		ID    string `json:"id"`
		IV    []byte `json:"iv"`
		Nonce []byte `json:"nonce"`
		Bytes []byte `json:"bytes"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, nil, nil, false
	}
	if v.AEAD != "AES-256-GCM-HMAC-SHA-256" && v.AEAD != "ChaCha20Poly1305" {
		return nil, nil, nil, false
	}
	if len(v.IV) != ivSize || len(v.Nonce) != nonceSize {
		return nil, nil, nil, false
	}
	return v.IV, v.Nonce, v.Bytes, true
}

// parseMsgpackCiphertext reads the msgpack array KES v0.x wrote:
// [algorithm str, id str, iv bin(16), nonce bin(12), bytes bin].
func parseMsgpackCiphertext(b []byte) (iv, nonce, sealed []byte, ok bool) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n != 5 {
		return nil, nil, nil, false
	}
	alg, b, err := msgp.ReadStringBytes(b)
	if err != nil {
		return nil, nil, nil, false
	}
	if _, valid := parseKeyType(alg); !valid {
		return nil, nil, nil, false
	}
	if _, b, err = msgp.ReadStringBytes(b); err != nil { // key id, unused
		return nil, nil, nil, false
	}
	iv, nonce = make([]byte, ivSize), make([]byte, nonceSize)
	if b, err = msgp.ReadExactBytes(b, iv); err != nil {
		return nil, nil, nil, false
	}
	if b, err = msgp.ReadExactBytes(b, nonce); err != nil {
		return nil, nil, nil, false
	}
	sealed, b, err = msgp.ReadBytesZC(b)
	if err != nil || len(b) != 0 {
		return nil, nil, nil, false
	}
	return iv, nonce, sealed, true
}
