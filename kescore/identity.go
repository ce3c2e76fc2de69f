package kescore

import (
	"iter"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// rules is a policy's pattern set in KES's wire shape {"<pattern>":{}}.
func rules(patterns []string) map[string]struct{} {
	m := make(map[string]struct{}, len(patterns))
	for _, p := range patterns {
		m[p] = struct{}{}
	}
	return m
}

func (s *Server) describePolicy(w http.ResponseWriter, req *apiRequest) {
	if _, ok := s.namedPolicy(w, req); !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	}{req.Resource, s.start, s.cfg.Admin})
}

func (s *Server) readPolicy(w http.ResponseWriter, req *apiRequest) {
	p, ok := s.namedPolicy(w, req)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Name      string              `json:"name"`
		Allow     map[string]struct{} `json:"allow"`
		Deny      map[string]struct{} `json:"deny"`
		CreatedAt time.Time           `json:"created_at"`
		CreatedBy string              `json:"created_by"`
	}{req.Resource, rules(p.allow), rules(p.deny), s.start, s.cfg.Admin})
}

// namedPolicy returns the policy the request's resource names. On a bad
// or unknown name it has answered the request and returns false.
func (s *Server) namedPolicy(w http.ResponseWriter, req *apiRequest) (*policy, bool) {
	name := req.Resource
	if !validName(name) {
		s.writeError(w, req.Request, failf(http.StatusBadRequest, "policy name '%s' is empty, too long or contains invalid characters", name), nil)
		return nil, false
	}
	p, ok := s.policies[name]
	if !ok {
		s.writeError(w, req.Request, errPolicyNotFound, nil)
		return nil, false
	}
	return p, true
}

func (s *Server) listPolicies(w http.ResponseWriter, req *apiRequest) {
	if !validPattern(req.Resource) {
		s.writeError(w, req.Request, invalidPattern(req.Resource), nil)
		return
	}
	names := matching(listPrefix(req.Resource), maps.Keys(s.policies))
	writeJSON(w, http.StatusOK, struct {
		Names      []string `json:"names"`
		ContinueAt string   `json:"continue_at"`
	}{Names: names})
}

func (s *Server) describeIdentity(w http.ResponseWriter, req *apiRequest) {
	id := req.Resource
	if !validName(id) {
		s.writeError(w, req.Request, failf(http.StatusBadRequest, "identity '%s' is empty, too long or contains invalid characters", id), nil)
		return
	}
	if id == s.cfg.Admin {
		writeJSON(w, http.StatusOK, struct {
			IsAdmin   bool      `json:"admin"`
			CreatedAt time.Time `json:"created_at"`
		}{true, s.start})
		return
	}
	p, ok := s.members[id]
	if !ok {
		s.writeError(w, req.Request, errIdentityNotFound, nil)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Policy    string    `json:"policy"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	}{p.name, s.start, s.cfg.Admin})
}

func (s *Server) listIdentities(w http.ResponseWriter, req *apiRequest) {
	if !validPattern(req.Resource) {
		s.writeError(w, req.Request, invalidPattern(req.Resource), nil)
		return
	}
	prefix := listPrefix(req.Resource)
	ids := matching(prefix, maps.Keys(s.members))
	if validName(s.cfg.Admin) && strings.HasPrefix(s.cfg.Admin, prefix) {
		i, _ := slices.BinarySearch(ids, s.cfg.Admin)
		ids = slices.Insert(ids, i, s.cfg.Admin)
	}
	writeJSON(w, http.StatusOK, struct {
		Identities []string `json:"identities"`
		ContinueAt string   `json:"continue_at"`
	}{Identities: ids})
}

// matching returns the names that start with prefix, sorted. It never
// returns nil, so an empty listing encodes as [].
func matching(prefix string, names iter.Seq[string]) []string {
	out := []string{}
	for n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// selfDescribeIdentity answers in the flat shape kms-go v0.3.1 decodes.
func (s *Server) selfDescribeIdentity(w http.ResponseWriter, req *apiRequest) {
	type response struct {
		Identity  string              `json:"identity"`
		IsAdmin   bool                `json:"admin,omitempty"`
		CreatedAt time.Time           `json:"created_at"`
		CreatedBy string              `json:"created_by,omitempty"`
		Policy    string              `json:"policy,omitempty"`
		Allow     map[string]struct{} `json:"allow,omitempty"`
		Deny      map[string]struct{} `json:"deny,omitempty"`
	}
	if req.Identity == s.cfg.Admin {
		writeJSON(w, http.StatusOK, response{Identity: req.Identity, IsAdmin: true, CreatedAt: s.start})
		return
	}
	p, ok := s.members[req.Identity]
	if !ok {
		s.writeError(w, req.Request, errIdentityNotFound, nil)
		return
	}
	writeJSON(w, http.StatusOK, response{
		Identity:  req.Identity,
		CreatedAt: s.start,
		CreatedBy: s.cfg.Admin,
		Policy:    p.name,
		Allow:     rules(p.allow),
		Deny:      rules(p.deny),
	})
}
