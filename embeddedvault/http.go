package embeddedvault

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/kmsbox/kmsbox/internal/httproute"
)

// serveAPI decodes a request, routes it to the Server's own handlers or to
// a mount, and writes Vault's envelope.
func (s *Server) serveAPI(w http.ResponseWriter, hr *http.Request) {
	resp, err := s.dispatch(hr, w)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeResponse(w, resp)
}

func (s *Server) dispatch(hr *http.Request, w http.ResponseWriter) (*response, error) {
	path := strings.TrimPrefix(hr.URL.Path, "/v1/")
	op, err := operation(hr)
	if err != nil {
		return nil, err
	}
	if op == logical.ListOperation && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	if hr.Header.Get("X-Vault-Wrap-TTL") != "" {
		return nil, badRequest("response wrapping is not supported")
	}
	if strings.Contains(path, "..") {
		// Vault's storage views refuse such keys (logical.StorageView.SanityCheck), whichever
		// mount or route would take them; net/http has not cleaned an escaped "%2e%2e".
		return nil, logical.ErrRelativePath
	}
	r := &request{method: hr.Method, op: op, path: path, query: hr.URL.Query(), token: requestToken(hr), http: hr}
	rt := s.match(path)
	if op == logical.HeaderOperation && (rt == nil || rt.ops[op] == nil) {
		return nil, ErrUnsupportedOperation
	}
	limit := s.cfg.MaxRequestSize
	timeout := defaultTimeout
	if rt != nil {
		if rt.bodyLimit > 0 && rt.bodyLimit < limit {
			limit = rt.bodyLimit
		}
		if rt.timeout > 0 {
			timeout = rt.timeout
		}
	}
	timed, cancel := httproute.WithTimeout(hr, timeout)
	defer cancel()
	ctx := timed.Context()

	switch hr.Method {
	case http.MethodPut, http.MethodPost:
		if r.data, err = decodeBody(httproute.LimitBody(httproute.IdleBody(w, hr, s.cfg.BodyIdle), limit)); err != nil {
			return nil, err
		}
	default:
		r.data = queryData(r.query)
	}

	if rt == nil {
		return s.serveMount(ctx, r)
	}
	h := rt.ops[op]
	if h == nil {
		return nil, ErrUnsupportedOperation
	}
	if rt.auth != authNone {
		if r.st, err = s.active(); err != nil {
			return nil, err
		}
		if r.te, err = s.authenticate(ctx, r); err != nil {
			return nil, err
		}
		if rt.auth == authACL {
			if err := s.authorize(ctx, r, path, op, rt.sudo); err != nil {
				return nil, err
			}
		}
		if err := r.st.tokens.use(ctx, r.te); err != nil {
			return nil, err
		}
	}
	return h(ctx, r)
}

// authenticate resolves the request token.
func (s *Server) authenticate(ctx context.Context, r *request) (*tokenEntry, error) {
	if r.token == "" {
		return nil, withMessage(ErrPermissionDenied, "permission denied")
	}
	return r.st.tokens.lookup(ctx, r.token)
}

// authorize checks the token's policies for op on path.
func (s *Server) authorize(ctx context.Context, r *request, path string, op logical.Operation, sudo bool) error {
	acl, err := r.st.policies.aclFor(ctx, r.te.Policies)
	if err != nil {
		return err
	}
	if !acl.allowed(path, op, sudo) {
		return ErrPermissionDenied
	}
	return nil
}

// writeResponse writes resp as Vault does: bare bodies as they are, nil as
// 204, everything else in the logical envelope.
func writeResponse(w http.ResponseWriter, resp *response) {
	switch {
	case resp == nil:
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return
	case resp.raw != nil:
		ct := resp.raw.contentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(resp.raw.status)
		_, _ = w.Write(resp.raw.body)
		return
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	if resp.noBody {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		return
	}
	if resp.bare != nil {
		writeJSON(w, status, resp.bare)
		return
	}
	writeJSON(w, status, envelope(resp))
}

// envelope builds Vault's logical response body.
func envelope(resp *response) map[string]any {
	body := map[string]any{
		"request_id":     uuid.NewString(),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": resp.leaseDuration,
		"data":           nil,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
		"mount_type":     resp.mountType,
	}
	if resp.data != nil {
		body["data"] = resp.data
	}
	if len(resp.warnings) > 0 {
		body["warnings"] = resp.warnings
	}
	if resp.auth != nil {
		body["auth"] = resp.auth
	}
	if resp.topLevel {
		for k, v := range resp.data {
			if _, taken := body[k]; !taken {
				body[k] = v
			}
		}
	}
	return body
}
