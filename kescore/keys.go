package kescore

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"time"
)

func invalidKeyName(name string) *apiError {
	return failf(http.StatusBadRequest, "key name '%s' is empty, too long or contains invalid characters", name)
}

func invalidPattern(pattern string) *apiError {
	return failf(http.StatusBadRequest, "listing pattern '%s' is empty, too long or is invalid", pattern)
}

func (s *Server) createKey(w http.ResponseWriter, req *apiRequest) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, invalidKeyName(name), nil)
		return
	}
	k, err := newMasterKey(s.keyType, req.Identity, time.Now())
	if err != nil {
		s.writeError(w, req.Request, err, &apiError{http.StatusInternalServerError, "failed to generate encryption key"})
		return
	}
	if err := s.cache.create(req.Context(), name, k); err != nil {
		s.writeError(w, req.Request, err, failCreate)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) importKey(w http.ResponseWriter, req *apiRequest) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, invalidKeyName(name), nil)
		return
	}
	var body struct {
		Key    []byte `json:"key"`
		Cipher string `json:"cipher"`
	}
	if err := readJSON(req.Request, &body); err != nil {
		if errors.Is(err, errInvalidBody) {
			err = &apiError{http.StatusBadRequest, "invalid import key request body"}
		}
		s.writeError(w, req.Request, err, nil)
		return
	}
	typ, ok := parseKeyType(body.Cipher)
	if !ok {
		s.writeError(w, req.Request, failf(http.StatusNotAcceptable, "algorithm '%s' is not supported", body.Cipher), nil)
		return
	}
	if len(body.Key) != keySize {
		s.writeError(w, req.Request, failf(http.StatusNotAcceptable, "invalid key size for '%s'", body.Cipher), nil)
		return
	}
	if err := s.importMaster(req.Context(), name, typ, body.Key, req.Identity); err != nil {
		s.writeError(w, req.Request, err, failCreate)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) describeKey(w http.ResponseWriter, req *apiRequest) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, invalidKeyName(name), nil)
		return
	}
	k, err := s.cache.get(req.Context(), name)
	if err != nil {
		s.writeError(w, req.Request, err, failRead)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Name      string    `json:"name"`
		Algorithm string    `json:"algorithm"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	}{name, k.typ.String(), k.createdAt, k.createdBy})
}

func (s *Server) listKeys(w http.ResponseWriter, req *apiRequest) {
	if !validPattern(req.Resource) {
		s.writeError(w, req.Request, invalidPattern(req.Resource), nil)
		return
	}
	prefix := listPrefix(req.Resource)
	names, err := s.cache.list(req.Context(), prefix)
	if err != nil {
		s.writeError(w, req.Request, err, failList)
		return
	}
	out := matching(prefix, slices.Values(names))
	writeJSON(w, http.StatusOK, struct {
		Names      []string `json:"names"`
		ContinueAt string   `json:"continue_at,omitempty"`
	}{Names: out})
}

func (s *Server) deleteKey(w http.ResponseWriter, req *apiRequest) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, invalidKeyName(name), nil)
		return
	}
	// Deleting a key that does not exist succeeds, as in KES: the store may
	// report ErrKeyNotFound, the client sees an empty 200.
	if err := s.cache.delete(req.Context(), name); err != nil && !errors.Is(err, ErrKeyNotFound) {
		s.writeError(w, req.Request, err, failDelete)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) generateKey(w http.ResponseWriter, req *apiRequest) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, invalidKeyName(name), nil)
		return
	}
	var body struct {
		Context []byte `json:"context"`
	}
	// The body is optional: absent, empty or chunked-and-empty all mean
	// "no context".
	if req.ContentLength != 0 {
		if err := readJSON(req.Request, &body); err != nil && !errors.Is(err, io.EOF) {
			s.writeError(w, req.Request, err, nil)
			return
		}
	}
	k, err := s.cache.get(req.Context(), name)
	if err != nil {
		s.writeError(w, req.Request, err, failRead)
		return
	}
	plaintext, ciphertext, err := generate(k, body.Context)
	if err != nil {
		s.writeError(w, req.Request, err, &apiError{http.StatusInternalServerError, "failed to generate encryption key"})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	}{plaintext, ciphertext})
}

func (s *Server) encryptKey(w http.ResponseWriter, req *apiRequest) {
	var body struct {
		Plaintext []byte `json:"plaintext"`
		Context   []byte `json:"context"`
	}
	k, ok := s.keyOperation(w, req, &body)
	if !ok {
		return
	}
	ciphertext, err := k.encrypt(body.Plaintext, body.Context)
	if err != nil {
		s.writeError(w, req.Request, err, &apiError{http.StatusInternalServerError, "failed to encrypt plaintext"})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Ciphertext []byte `json:"ciphertext"`
	}{ciphertext})
}

func (s *Server) decryptKey(w http.ResponseWriter, req *apiRequest) {
	var body struct {
		Ciphertext []byte `json:"ciphertext"`
		Context    []byte `json:"context"`
	}
	k, ok := s.keyOperation(w, req, &body)
	if !ok {
		return
	}
	plaintext, err := k.decrypt(body.Ciphertext, body.Context)
	if err != nil {
		s.writeError(w, req.Request, err, &apiError{http.StatusInternalServerError, "failed to decrypt ciphertext"})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Plaintext []byte `json:"plaintext"`
	}{plaintext})
}

func (s *Server) hmacKey(w http.ResponseWriter, req *apiRequest) {
	var body struct {
		Message []byte `json:"message"`
	}
	k, ok := s.keyOperation(w, req, &body)
	if !ok {
		return
	}
	sum, ok := k.hmacSum(body.Message)
	if !ok {
		s.writeError(w, req.Request, errNoHMAC, nil)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Sum []byte `json:"hmac"`
	}{sum})
}

// keyOperation does what encrypt, decrypt and hmac share: it checks the key name, decodes
// the JSON body into body and loads the key. On failure it has answered the request and
// returns false.
func (s *Server) keyOperation(w http.ResponseWriter, req *apiRequest, body any) (*masterKey, bool) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, invalidKeyName(name), nil)
		return nil, false
	}
	if err := readJSON(req.Request, body); err != nil {
		s.writeError(w, req.Request, err, nil)
		return nil, false
	}
	k, err := s.cache.get(req.Context(), name)
	if err != nil {
		s.writeError(w, req.Request, err, failRead)
		return nil, false
	}
	return k, true
}
