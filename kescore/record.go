package kescore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

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
