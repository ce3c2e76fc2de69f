package web

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Errors of the HTTP layer.
var (
	errNoSession   = errors.New("web: no session")
	errCrossOrigin = errors.New("web: cross-origin request")
	errNoRoute     = errors.New("web: no such page")
	errBadForm     = errors.New("web: malformed form")
)

// errorTable maps every known error to its status and the sentence the page or the JSON
// API shows. Anything else is a 500 showing the error's own text: a Source never puts a
// secret in an error.
var errorTable = []struct {
	err    error
	status int
	msg    string
}{
	{ErrNotFound, http.StatusNotFound, "No such bucket or object"},
	{errNoRoute, http.StatusNotFound, "Not found"},
	{errNoSession, http.StatusUnauthorized, "Not logged in"},
	{errCrossOrigin, http.StatusForbidden, "Cross-origin request refused"},
	{errBadForm, http.StatusBadRequest, "Malformed form"},
}

// httpError resolves err to a status and a message through errorTable.
func httpError(err error) (int, string) {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.status, e.msg
		}
	}
	return http.StatusInternalServerError, err.Error()
}

// fail answers err as an error page, or as JSON on the API paths. 500s are logged at Warn.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		s.apiError(w, r, err)
		return
	}
	status, msg := httpError(err)
	s.logFailure(r, status, err)
	s.render(w, r, status, "error.html", errorPage{
		page:    page{Title: http.StatusText(status), LoggedIn: s.sessions.valid(sessionToken(r))},
		Status:  status,
		Message: msg,
	})
}

// apiError answers err as {"error": "..."}.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := httpError(err)
	s.logFailure(r, status, err)
	writeJSON(w, status, apiErrorBody{Error: msg})
}

// logFailure logs a 500 at Warn; lesser failures are the visitor's business.
func (s *Server) logFailure(r *http.Request, status int, err error) {
	if status >= http.StatusInternalServerError {
		s.log.WarnContext(r.Context(), "console request failed",
			"method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
}

// apiErrorBody is the JSON of every API error.
type apiErrorBody struct {
	Error string `json:"error"`
}

// writeJSON answers v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(apiErrorBody{Error: err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
