package web

import (
	"net/http"
	"time"
)

// The JSON API answers with these types: the Source's structs with lowerCamelCase
// names. Times are RFC 3339; a zero time is null.

type checkJSON struct {
	OK  bool   `json:"ok"`
	Err string `json:"err,omitempty"`
}

type statusJSON struct {
	S3    s3StatusJSON    `json:"s3"`
	KES   kesStatusJSON   `json:"kes"`
	Vault vaultStatusJSON `json:"vault"`
}

type s3StatusJSON struct {
	URL         string       `json:"url"`
	Ready       checkJSON    `json:"ready"`
	AutoEncrypt bool         `json:"autoEncrypt"`
	KMS         string       `json:"kms"`
	DefaultKey  string       `json:"defaultKey"`
	Buckets     []bucketJSON `json:"buckets"`
}

type bucketJSON struct {
	Name       string     `json:"name"`
	Created    *time.Time `json:"created"`
	Encryption string     `json:"encryption"`
	KeyID      string     `json:"keyId"`
}

type kesStatusJSON struct {
	URL   string          `json:"url"`
	Ready checkJSON       `json:"ready"`
	Keys  []masterKeyJSON `json:"keys"`
}

type masterKeyJSON struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

type vaultStatusJSON struct {
	URL         string `json:"url"`
	External    bool   `json:"external"`
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Shares      int    `json:"shares"`
	Threshold   int    `json:"threshold"`
	StorageFile string `json:"storageFile"`
	Mount       string `json:"mount"`
	// Transit is left out when there is none (always on the chain).
	Transit []transitMountJSON `json:"transit,omitempty"`
}

type transitMountJSON struct {
	Path string           `json:"path"`
	Keys []transitKeyJSON `json:"keys"`
}

type transitKeyJSON struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	LatestVersion int    `json:"latestVersion"`
}

type objectJSON struct {
	Bucket     string     `json:"bucket"`
	Key        string     `json:"key"`
	Size       int64      `json:"size"`
	ModTime    *time.Time `json:"modTime"`
	ETag       string     `json:"etag"`
	Encryption string     `json:"encryption"`
	KeyID      string     `json:"keyId"`
	Parts      int        `json:"parts"`
}

// objectsJSON is a listing: at most 1000 objects, truncated when there are more.
type objectsJSON struct {
	Bucket    string       `json:"bucket"`
	Prefix    string       `json:"prefix"`
	Objects   []objectJSON `json:"objects"`
	Truncated bool         `json:"truncated"`
}

type chainJSON struct {
	Object            objectJSON      `json:"object"`
	Format            string          `json:"format"`
	SealedObjectKey   string          `json:"sealedObjectKey"`
	SealAlgorithm     string          `json:"sealAlgorithm"`
	DataKeyCiphertext string          `json:"dataKeyCiphertext"`
	DataKeyContext    string          `json:"dataKeyContext"`
	DataKey           checkJSON       `json:"dataKey"`
	MasterKey         masterKeyJSON   `json:"masterKey"`
	MasterKeyCheck    checkJSON       `json:"masterKeyCheck"`
	Vault             vaultStatusJSON `json:"vault"`
}

// apiStatus answers the overview as JSON.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.source.Status(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toStatusJSON(st))
}

// apiObjects answers a bucket listing as JSON.
func (s *Server) apiObjects(w http.ResponseWriter, r *http.Request) {
	bucket, prefix := r.PathValue("bucket"), r.URL.Query().Get("prefix")
	objs, truncated, err := s.list(r, bucket, prefix)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := objectsJSON{Bucket: bucket, Prefix: prefix, Objects: make([]objectJSON, len(objs)), Truncated: truncated}
	for i, o := range objs {
		out.Objects[i] = toObjectJSON(o)
	}
	writeJSON(w, http.StatusOK, out)
}

// apiChain answers the chain of one object as JSON.
func (s *Server) apiChain(w http.ResponseWriter, r *http.Request) {
	bucket, key := r.PathValue("bucket"), r.PathValue("key")
	if key == "" {
		s.apiError(w, r, ErrNotFound)
		return
	}
	c, err := s.source.Chain(r.Context(), bucket, key)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, chainJSON{
		Object:            toObjectJSON(c.Object),
		Format:            c.Format,
		SealedObjectKey:   c.SealedObjectKey,
		SealAlgorithm:     c.SealAlgorithm,
		DataKeyCiphertext: c.DataKeyCiphertext,
		DataKeyContext:    c.DataKeyContext,
		DataKey:           checkJSON(c.DataKey),
		MasterKey:         masterKeyJSON(c.MasterKey),
		MasterKeyCheck:    checkJSON(c.MasterKeyCheck),
		Vault:             toVaultStatusJSON(c.Vault),
	})
}

// apiNotFound answers every API path no route has.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.apiError(w, r, errNoRoute)
}

func toStatusJSON(st Status) statusJSON {
	out := statusJSON{
		S3: s3StatusJSON{
			URL: st.S3.URL, Ready: checkJSON(st.S3.Ready), AutoEncrypt: st.S3.AutoEncrypt,
			KMS: st.S3.KMS, DefaultKey: st.S3.DefaultKey, Buckets: make([]bucketJSON, len(st.S3.Buckets)),
		},
		KES: kesStatusJSON{
			URL: st.KES.URL, Ready: checkJSON(st.KES.Ready), Keys: make([]masterKeyJSON, len(st.KES.Keys)),
		},
		Vault: toVaultStatusJSON(st.Vault),
	}
	for i, b := range st.S3.Buckets {
		out.S3.Buckets[i] = bucketJSON{Name: b.Name, Created: timeJSON(b.Created), Encryption: b.Encryption, KeyID: b.KeyID}
	}
	for i, k := range st.KES.Keys {
		out.KES.Keys[i] = masterKeyJSON(k)
	}
	return out
}

func toVaultStatusJSON(v VaultStatus) vaultStatusJSON {
	out := vaultStatusJSON{URL: v.URL, External: v.External, Initialized: v.Initialized, Sealed: v.Sealed,
		Shares: v.Shares, Threshold: v.Threshold, StorageFile: v.StorageFile, Mount: v.Mount}
	for _, m := range v.Transit {
		tm := transitMountJSON{Path: m.Path, Keys: make([]transitKeyJSON, len(m.Keys))}
		for i, k := range m.Keys {
			tm.Keys[i] = transitKeyJSON(k)
		}
		out.Transit = append(out.Transit, tm)
	}
	return out
}

func toObjectJSON(o Object) objectJSON {
	return objectJSON{
		Bucket: o.Bucket, Key: o.Key, Size: o.Size, ModTime: timeJSON(o.ModTime), ETag: o.ETag,
		Encryption: o.Encryption, KeyID: o.KeyID, Parts: o.Parts,
	}
}

// timeJSON is t in UTC, nil for the zero time.
func timeJSON(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
