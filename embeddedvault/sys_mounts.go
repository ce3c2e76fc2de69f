package embeddedvault

import (
	"context"
	"strings"
)

// normalizeMountPath turns "kv", "/kv/" into "kv/".
func normalizeMountPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" || strings.Contains(p, "//") || strings.Contains(p, "..") {
		return "", badRequest("invalid mount path %q", p)
	}
	return p + "/", nil
}

func (s *Server) listMounts(_ context.Context, r *request) (*response, error) {
	return s.listTable(r, tableSecret), nil
}

func (s *Server) listAuths(_ context.Context, r *request) (*response, error) {
	return s.listTable(r, tableAuth), nil
}

func (s *Server) listTable(r *request, table string) *response {
	data := map[string]any{}
	for _, e := range r.st.mounts.list(table) {
		data[e.Path] = e.info()
	}
	return &response{data: data, topLevel: true}
}

func (s *Server) readMount(_ context.Context, r *request) (*response, error) {
	return s.readTableEntry(r, tableSecret)
}

func (s *Server) readAuth(_ context.Context, r *request) (*response, error) {
	return s.readTableEntry(r, tableAuth)
}

func (s *Server) readTableEntry(r *request, table string) (*response, error) {
	p, err := normalizeMountPath(routeParam(s.match(r.path), r.path))
	if err != nil {
		return nil, err
	}
	e := r.st.mounts.find(table, p)
	if e == nil {
		return nil, badRequest("No secret engine mount at %s", p)
	}
	return &response{data: e.info(), topLevel: true}, nil
}

// parseMountRequest decodes the body of sys/mounts/:path and sys/auth/:path.
func (s *Server) parseMountRequest(r *request, table string) (*mountEntry, error) {
	p, err := normalizeMountPath(routeParam(s.match(r.path), r.path))
	if err != nil {
		return nil, err
	}
	typ, err := stringField(r.data, "type")
	if err != nil {
		return nil, err
	}
	if typ == "" {
		return nil, badRequest("backend type must be specified as a string")
	}
	desc, err := stringField(r.data, "description")
	if err != nil {
		return nil, err
	}
	e := &mountEntry{Table: table, Path: p, Type: typ, Description: desc}
	if e.Local, err = boolField(r.data, "local", false); err != nil {
		return nil, err
	}
	if e.SealWrap, err = boolField(r.data, "seal_wrap", false); err != nil {
		return nil, err
	}
	if e.ExternalEntropyAccess, err = boolField(r.data, "external_entropy_access", false); err != nil {
		return nil, err
	}
	if e.Options, err = mapField(r.data, "options"); err != nil {
		return nil, err
	}
	if c, ok := r.data["config"]; ok && c != nil {
		cm, ok := c.(map[string]any)
		if !ok {
			return nil, badRequest("invalid value for \"config\": object expected")
		}
		if e.DefaultLeaseTTL, err = durationField(cm, "default_lease_ttl", 0); err != nil {
			return nil, err
		}
		if e.MaxLeaseTTL, err = durationField(cm, "max_lease_ttl", 0); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (s *Server) enableMount(ctx context.Context, r *request) (*response, error) {
	e, err := s.parseMountRequest(r, tableSecret)
	if err != nil {
		return nil, err
	}
	switch e.Path {
	case "sys/", "auth/", "cubbyhole/", "identity/":
		return nil, badRequest("cannot mount %q of type %q: path is reserved", e.Path, e.Type)
	}
	version := e.Options["version"]
	switch e.Type {
	case "kv":
		switch version {
		case "", "1":
			version = "1"
		case "2":
		default:
			return nil, badRequest("invalid kv version %q: must be \"1\" or \"2\"", version)
		}
	case "kv-v1":
		version = "1"
	case "kv-v2":
		version = "2"
	case "transit":
		if version != "" {
			return nil, badRequest("options.version is only supported for kv mounts")
		}
		if err := r.st.mounts.add(ctx, e); err != nil {
			return nil, err
		}
		s.log.Info("embeddedvault: secrets engine enabled", "path", e.Path, "type", e.Type)
		return nil, nil
	default:
		if version != "" {
			return nil, badRequest("options.version is only supported for kv mounts")
		}
		return nil, badRequest("plugin not found in the catalog: %s", e.Type)
	}
	e.Type = "kv"
	if e.Options == nil {
		e.Options = map[string]string{}
	}
	e.Options["version"] = version
	if err := r.st.mounts.add(ctx, e); err != nil {
		return nil, err
	}
	s.log.Info("embeddedvault: secrets engine enabled", "path", e.Path, "type", e.Type, "version", version)
	return nil, nil
}

func (s *Server) disableMount(ctx context.Context, r *request) (*response, error) {
	p, err := normalizeMountPath(routeParam(s.match(r.path), r.path))
	if err != nil {
		return nil, err
	}
	if _, err := r.st.mounts.remove(ctx, tableSecret, p); err != nil {
		return nil, err
	}
	return nil, nil
}

func (s *Server) enableAuth(ctx context.Context, r *request) (*response, error) {
	e, err := s.parseMountRequest(r, tableAuth)
	if err != nil {
		return nil, err
	}
	switch e.Type {
	case "approle":
	case "token":
		return nil, badRequest("token credential backend cannot be instantiated")
	default:
		return nil, badRequest("plugin not found in the catalog: %s", e.Type)
	}
	if len(e.Options) > 0 && e.Options["version"] != "" {
		return nil, badRequest("options.version is only supported for kv mounts")
	}
	if err := r.st.mounts.add(ctx, e); err != nil {
		return nil, err
	}
	s.log.Info("embeddedvault: auth method enabled", "path", e.Path, "type", e.Type)
	return nil, nil
}

func (s *Server) disableAuth(ctx context.Context, r *request) (*response, error) {
	p, err := normalizeMountPath(routeParam(s.match(r.path), r.path))
	if err != nil {
		return nil, err
	}
	gone, err := r.st.mounts.remove(ctx, tableAuth, p)
	if err != nil || gone == nil {
		return nil, err
	}
	return nil, r.st.tokens.revokeByPath(ctx, "auth/"+p)
}

// uiMounts lists both tables the way the UI endpoint does.
func (s *Server) uiMounts(_ context.Context, r *request) (*response, error) {
	secret, auth := map[string]any{}, map[string]any{}
	for _, e := range r.st.mounts.list(tableSecret) {
		secret[e.Path] = e.info()
	}
	for _, e := range r.st.mounts.list(tableAuth) {
		auth[e.Path] = e.info()
	}
	return &response{data: map[string]any{"secret": secret, "auth": auth}}, nil
}

// uiMount tells the CLI which engine (and KV version) serves a path.
func (s *Server) uiMount(_ context.Context, r *request) (*response, error) {
	p := strings.Trim(routeParam(s.match(r.path), r.path), "/") + "/"
	e, _ := r.st.mounts.resolve(p)
	if e == nil {
		return nil, ErrNotFound
	}
	data := e.info()
	data["path"] = e.routePrefix()
	return &response{data: data}, nil
}
