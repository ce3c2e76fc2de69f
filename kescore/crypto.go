package kescore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tinylib/msgp/msgp"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/encoding/protowire"
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

// Protobuf field numbers of KES's record messages (miniohq.kms):
//
//	SecretKey  { bytes Key = 1; uint32 Type = 2; }
//	HMACKey    { bytes Key = 1; uint32 Hash = 2; }
//	KeyVersion { SecretKey Key = 1; HMACKey HMACKey = 2;
//	             google.protobuf.Timestamp CreatedAt = 3; string CreatedBy = 4; }
//	Timestamp  { int64 seconds = 1; int32 nanos = 2; }
const (
	fieldKey       protowire.Number = 1
	fieldHMACKey   protowire.Number = 2
	fieldCreatedAt protowire.Number = 3
	fieldCreatedBy protowire.Number = 4
	fieldSubKey    protowire.Number = 1
	fieldSubType   protowire.Number = 2
	fieldSeconds   protowire.Number = 1
	fieldNanos     protowire.Number = 2
)

var errRecord = errors.New("kescore: malformed key record")

// encodeRecord returns the key record as real KES stores it: base64 (std,
// padded) of the protobuf KeyVersion, fields in number order and zero
// values omitted, as proto.Marshal writes them.
func encodeRecord(k *masterKey) []byte {
	var sk []byte
	sk = protowire.AppendTag(sk, fieldSubKey, protowire.BytesType)
	sk = protowire.AppendBytes(sk, k.key[:])
	sk = protowire.AppendTag(sk, fieldSubType, protowire.VarintType)
	sk = protowire.AppendVarint(sk, uint64(k.typ))

	var msg []byte
	msg = protowire.AppendTag(msg, fieldKey, protowire.BytesType)
	msg = protowire.AppendBytes(msg, sk)
	if len(k.hmacKey) == 32 {
		var hk []byte
		hk = protowire.AppendTag(hk, fieldSubKey, protowire.BytesType)
		hk = protowire.AppendBytes(hk, k.hmacKey)
		hk = protowire.AppendTag(hk, fieldSubType, protowire.VarintType)
		hk = protowire.AppendVarint(hk, hashSHA256)
		msg = protowire.AppendTag(msg, fieldHMACKey, protowire.BytesType)
		msg = protowire.AppendBytes(msg, hk)
	}
	// KES always sets CreatedAt (timestamppb of the time; the zero time
	// has negative seconds).
	var ts []byte
	if sec := k.createdAt.Unix(); sec != 0 {
		ts = protowire.AppendTag(ts, fieldSeconds, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(sec))
	}
	if nsec := k.createdAt.Nanosecond(); nsec != 0 {
		ts = protowire.AppendTag(ts, fieldNanos, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(int64(int32(nsec))))
	}
	msg = protowire.AppendTag(msg, fieldCreatedAt, protowire.BytesType)
	msg = protowire.AppendBytes(msg, ts)
	if k.createdBy != "" {
		msg = protowire.AppendTag(msg, fieldCreatedBy, protowire.BytesType)
		msg = protowire.AppendString(msg, k.createdBy)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(msg)))
	base64.StdEncoding.Encode(out, msg)
	return out
}

// parseRecord reads every key record form KES has written: JSON
// ({"bytes","algorithm","created_at","created_by"}, v0.7 {"bytes"}) and
// base64 protobuf KeyVersion.
func parseRecord(b []byte) (*masterKey, error) {
	if json.Valid(b) {
		var v struct {
			Bytes     []byte    `json:"bytes"`
			Algorithm string    `json:"algorithm"`
			CreatedAt time.Time `json:"created_at"`
			CreatedBy string    `json:"created_by"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%w: %v", errRecord, err)
		}
		typ := typeAES256
		if v.Algorithm != "" {
			t, ok := parseKeyType(v.Algorithm)
			if !ok {
				return nil, fmt.Errorf("%w: unknown algorithm %q", errRecord, v.Algorithm)
			}
			typ = t
		}
		if len(v.Bytes) != keySize {
			return nil, fmt.Errorf("%w: key length %d", errRecord, len(v.Bytes))
		}
		k := &masterKey{typ: typ, createdAt: v.CreatedAt, createdBy: v.CreatedBy}
		copy(k.key[:], v.Bytes)
		return k, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRecord, err)
	}
	return parseKeyVersion(raw)
}

func parseKeyVersion(raw []byte) (*masterKey, error) {
	k := &masterKey{}
	var haveKey bool
	err := walkFields(raw, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == fieldKey && typ == protowire.BytesType:
			key, t, err := parseSubKey(v)
			if err != nil {
				return err
			}
			if t != uint64(typeAES256) && t != uint64(typeChaCha20) {
				return fmt.Errorf("%w: key type %d", errRecord, t)
			}
			copy(k.key[:], key)
			k.typ = keyType(t)
			haveKey = true
		case num == fieldHMACKey && typ == protowire.BytesType:
			key, h, err := parseSubKey(v)
			if err != nil {
				return err
			}
			if h != hashSHA256 {
				return fmt.Errorf("%w: HMAC hash %d", errRecord, h)
			}
			k.hmacKey = append([]byte(nil), key...)
		case num == fieldCreatedAt && typ == protowire.BytesType:
			var sec, nsec int64
			err := walkFields(v, func(n protowire.Number, t protowire.Type, _ []byte, x uint64) error {
				switch {
				case n == fieldSeconds && t == protowire.VarintType:
					sec = int64(x)
				case n == fieldNanos && t == protowire.VarintType:
					nsec = int64(int32(x))
				}
				return nil
			})
			if err != nil {
				return err
			}
			if nsec < 0 || nsec >= 1e9 {
				return fmt.Errorf("%w: timestamp nanos %d", errRecord, nsec)
			}
			k.createdAt = time.Unix(sec, nsec).UTC()
		case num == fieldCreatedBy && typ == protowire.BytesType:
			k.createdBy = string(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveKey {
		return nil, fmt.Errorf("%w: no secret key", errRecord)
	}
	return k, nil
}

func parseSubKey(b []byte) (key []byte, typ uint64, err error) {
	err = walkFields(b, func(n protowire.Number, t protowire.Type, v []byte, x uint64) error {
		switch {
		case n == fieldSubKey && t == protowire.BytesType:
			key = v
		case n == fieldSubType && t == protowire.VarintType:
			typ = x
		}
		return nil
	})
	if err == nil && len(key) != keySize {
		err = fmt.Errorf("%w: key length %d", errRecord, len(key))
	}
	return key, typ, err
}

// walkFields calls fn for each field of a protobuf message; v is set for
// length-delimited fields, x for varints. Unknown fields are skipped.
func walkFields(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", errRecord, protowire.ParseError(n))
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: %v", errRecord, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
