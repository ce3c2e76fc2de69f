package embeddedvault

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/sdk/helper/errutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// serveMount runs a request against the mount (KV or AppRole backend)
// that serves its path: existence check (create vs update), token and ACL
// check unless the backend marks the path unauthenticated, then the
// backend, then translation into the HTTP envelope.
func (s *Server) serveMount(ctx context.Context, r *request) (*response, error) {
	st, err := s.active()
	if err != nil {
		return nil, err
	}
	r.st = st
	e, rest := st.mounts.resolve(r.path)
	if err := st.mounts.unavailable(e); err != nil {
		return nil, err
	}
	if e == nil || e.backend == nil {
		return nil, withMessage(ErrUnsupportedPath, "no handler for route %q. route entry not found.", r.path)
	}
	lreq, err := newLogicalRequest(ctx, e, r.op, rest, r.data)
	if err != nil {
		return nil, err
	}
	lreq.ClientToken = r.token
	lreq.Connection = &logical.Connection{RemoteAddr: r.http.RemoteAddr}
	if !unauthenticated(e.backend.SpecialPaths(), rest) {
		if r.te, err = s.authenticate(ctx, r); err != nil {
			return nil, err
		}
		if err := s.authorize(ctx, r, r.path, lreq.Operation, false); err != nil {
			return nil, err
		}
		if err := st.tokens.use(ctx, r.te); err != nil {
			return nil, err
		}
		lreq.ClientTokenAccessor = r.te.Accessor
		lreq.DisplayName = r.te.DisplayName
	}
	resp, err := e.backend.HandleRequest(ctx, lreq)
	return s.translate(ctx, r, e, lreq, resp, err)
}

// newLogicalRequest builds the backend request for op on path (relative to
// mount e). An update of a path the backend's existence check finds absent
// becomes a create, as in Vault, so ACL create/update capabilities apply.
func newLogicalRequest(ctx context.Context, e *mountEntry, op logical.Operation, path string, data map[string]any) (*logical.Request, error) {
	lreq := &logical.Request{
		ID:            uuid.NewString(),
		Operation:     op,
		Path:          path,
		Data:          data,
		Storage:       e.view,
		MountPoint:    e.routePrefix(),
		MountType:     e.Type,
		MountAccessor: e.Accessor,
	}
	if op == logical.UpdateOperation {
		found, exists, err := e.backend.HandleExistenceCheck(ctx, lreq)
		if err != nil {
			return nil, backendError(err)
		}
		if found && !exists {
			lreq.Operation = logical.CreateOperation
		}
	}
	return lreq, nil
}

// unauthenticated reports whether the backend declares path as open
// (AppRole's login).
func unauthenticated(p *logical.Paths, path string) bool {
	if p == nil {
		return false
	}
	for _, u := range p.Unauthenticated {
		if base, ok := strings.CutSuffix(u, "*"); ok {
			if strings.HasPrefix(path, base) {
				return true
			}
		} else if path == u {
			return true
		}
	}
	return false
}

// backendError maps sdk errors to the package sentinels.
func backendError(err error) error {
	var ue errutil.UserError
	if errors.As(err, &ue) {
		return badRequest("%s", ue.Err)
	}
	switch {
	case errors.Is(err, logical.ErrUnsupportedPath):
		return withMessage(ErrUnsupportedPath, "unsupported path")
	case errors.Is(err, logical.ErrUnsupportedOperation):
		return withMessage(ErrUnsupportedOperation, "unsupported operation")
	case errors.Is(err, logical.ErrPermissionDenied):
		return ErrPermissionDenied
	case errors.Is(err, logical.ErrInvalidRequest):
		return badRequest("invalid request")
	}
	return err
}

// translate turns a backend answer into the HTTP response.
func (s *Server) translate(ctx context.Context, r *request, e *mountEntry, lreq *logical.Request, resp *logical.Response, err error) (*response, error) {
	if resp != nil && resp.IsError() {
		var coded logical.HTTPCodedError
		if err != nil && errors.As(err, &coded) {
			return nil, err
		}
		return nil, badRequest("%s", resp.Error().Error())
	}
	if err != nil {
		return nil, backendError(err)
	}
	if resp == nil {
		if lreq.Operation == logical.ReadOperation || lreq.Operation == logical.ListOperation {
			return nil, ErrNotFound
		}
		return nil, nil
	}
	if code, ok := resp.Data[logical.HTTPStatusCode]; ok {
		return rawFromBackend(resp, code)
	}
	if lreq.Operation == logical.ListOperation {
		if keys, _ := resp.Data["keys"].([]string); len(keys) == 0 {
			return nil, ErrNotFound
		}
	}
	out := &response{data: resp.Data, warnings: resp.Warnings, mountType: e.Type}
	if resp.Secret != nil {
		ttl := resp.Secret.TTL
		if ttl == 0 {
			ttl = e.leaseTTL(s.cfg)
		}
		out.leaseDuration = int64(ttl / time.Second)
	}
	if resp.Auth != nil {
		tok, te, err := r.st.tokens.createFromAuth(ctx, resp.Auth, lreq.MountPoint+lreq.Path, e.leaseTTL(s.cfg))
		if err != nil {
			return nil, err
		}
		out.auth = authBody(tok, te, s.now())
		out.data = nil
		return out, nil
	}
	if out.data == nil && len(out.warnings) == 0 && resp.Secret == nil {
		if lreq.Operation == logical.ReadOperation {
			return nil, ErrNotFound
		}
		return nil, nil
	}
	return out, nil
}

// rawFromBackend renders logical.RespondWithStatusCode answers.
func rawFromBackend(resp *logical.Response, code any) (*response, error) {
	status, _ := code.(int)
	if status == 0 {
		status = http.StatusOK
	}
	ct, _ := resp.Data[logical.HTTPContentType].(string)
	var body []byte
	switch b := resp.Data[logical.HTTPRawBody].(type) {
	case []byte:
		body = b
	case string:
		body = []byte(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = raw
	}
	return &response{raw: &rawResponse{status: status, contentType: ct, body: body}}, nil
}
