package embeddedvault

import (
	"context"
	"slices"
	"time"
)

// lookupData is the data of auth/token/lookup-self and lookup.
func lookupData(id string, te *tokenEntry, now time.Time) map[string]any {
	var expire any
	if !te.ExpireTime.IsZero() {
		expire = te.ExpireTime.UTC().Format(time.RFC3339Nano)
	}
	var meta any
	if te.Meta != nil {
		meta = te.Meta
	}
	d := map[string]any{
		"id": id, "accessor": te.Accessor, "policies": te.Policies, "path": te.Path,
		"meta": meta, "display_name": te.DisplayName, "num_uses": te.NumUses, "orphan": te.Orphan,
		"creation_time": te.CreationTime.Unix(), "creation_ttl": int64(te.TTL / time.Second),
		"expire_time": expire, "ttl": int64(te.remaining(now) / time.Second),
		"explicit_max_ttl": int64(te.ExplicitMaxTTL / time.Second), "entity_id": "",
		"type": "service", "renewable": te.Renewable && !te.ExpireTime.IsZero(),
		"issue_time": te.CreationTime.UTC().Format(time.RFC3339Nano),
	}
	if te.Period > 0 {
		d["period"] = int64(te.Period / time.Second)
	}
	return d
}

func (s *Server) lookupSelf(_ context.Context, r *request) (*response, error) {
	return &response{data: lookupData(r.token, r.te, s.now())}, nil
}

func (s *Server) renewSelf(ctx context.Context, r *request) (*response, error) {
	inc, err := durationField(r.data, "increment", 0)
	if err != nil {
		return nil, err
	}
	te, warnings, err := r.st.tokens.renew(ctx, r.te, inc)
	if err != nil {
		return nil, err
	}
	return &response{auth: authBody(r.token, te, s.now()), warnings: warnings}, nil
}

func (s *Server) revokeSelf(ctx context.Context, r *request) (*response, error) {
	return nil, r.st.tokens.revoke(ctx, r.te)
}

// tokenFromBody resolves the "token" field of lookup and revoke.
func (s *Server) tokenFromBody(ctx context.Context, r *request) (string, *tokenEntry, error) {
	tok, err := stringField(r.data, "token")
	if err != nil {
		return "", nil, err
	}
	if tok == "" {
		return "", nil, badRequest("missing token to lookup")
	}
	te, err := r.st.tokens.lookup(ctx, tok)
	if err != nil {
		return "", nil, badRequest("bad token")
	}
	return tok, te, nil
}

func (s *Server) lookupToken(ctx context.Context, r *request) (*response, error) {
	tok, te, err := s.tokenFromBody(ctx, r)
	if err != nil {
		return nil, err
	}
	return &response{data: lookupData(tok, te, s.now())}, nil
}

func (s *Server) revokeToken(ctx context.Context, r *request) (*response, error) {
	tok, _ := stringField(r.data, "token")
	if tok == "" {
		return nil, badRequest("missing token to revoke")
	}
	te, err := r.st.tokens.lookup(ctx, tok)
	if err != nil {
		return nil, nil // revoking an unknown token is a no-op
	}
	return nil, r.st.tokens.revoke(ctx, te)
}

// createToken serves auth/token/create. Non-root callers may only hand out
// a subset of their own policies and cannot choose the ID.
func (s *Server) createToken(ctx context.Context, r *request) (*response, error) {
	isRoot := slices.Contains(r.te.Policies, "root")
	id, err := stringField(r.data, "id")
	if err != nil {
		return nil, err
	}
	if id != "" && !isRoot {
		return nil, withMessage(ErrPermissionDenied, "root or sudo privileges required to specify token id")
	}
	p := tokenParams{renewable: true, path: "auth/token/create", displayName: "token"}
	policies, set, err := stringsField(r.data, "policies")
	if err != nil {
		return nil, err
	}
	if !set {
		policies = slices.DeleteFunc(slices.Clone(r.te.Policies), func(p string) bool { return p == "default" })
	}
	if !isRoot {
		for _, pol := range policies {
			if pol != "default" && !slices.Contains(r.te.Policies, pol) {
				return nil, badRequest("child policies must be subset of parent")
			}
		}
	}
	p.policies = policies
	if p.noDefaultPolicy, err = boolField(r.data, "no_default_policy", false); err != nil {
		return nil, err
	}
	if p.renewable, err = boolField(r.data, "renewable", true); err != nil {
		return nil, err
	}
	if p.orphan, err = boolField(r.data, "no_parent", false); err != nil {
		return nil, err
	}
	if p.meta, err = mapField(r.data, "meta"); err != nil {
		return nil, err
	}
	if name, _ := stringField(r.data, "display_name"); name != "" {
		p.displayName = "token-" + name
	}
	if p.numUses, err = intField(r.data, "num_uses", 0); err != nil {
		return nil, err
	}
	if p.numUses < 0 {
		return nil, badRequest("number of uses cannot be negative")
	}
	if p.ttl, err = durationField(r.data, "ttl", 0); err != nil {
		return nil, err
	}
	if p.explicitMaxTTL, err = durationField(r.data, "explicit_max_ttl", 0); err != nil {
		return nil, err
	}
	if p.period, err = durationField(r.data, "period", 0); err != nil {
		return nil, err
	}
	tok, te, err := r.st.tokens.create(ctx, p, s.cfg.DefaultLeaseTTL, id)
	if err != nil {
		return nil, err
	}
	return &response{auth: authBody(tok, te, s.now())}, nil
}
