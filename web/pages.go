package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// listLimit is how many objects a listing shows.
const listLimit = 1000

// pageNames are the templates under templates/, each rendered inside layout.html with
// the shared pieces of parts.html.
var pageNames = []string{"login.html", "overview.html", "bucket.html", "chain.html", "error.html"}

// parsePages parses every page with the layout, the shared parts and the template
// functions.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"objectURL": func(bucket, key string) string { return objectPath(pathObjects, bucket, key) },
		"bucketURL": bucketPath,
		"size":      formatSize,
		"when":      formatTime,
		"state":     func(ok bool) string { return pick(ok, "ok", "broken") },
		"yesno":     func(b bool) string { return pick(b, "yes", "no") },
		"orNone":    func(s string) string { return pick(s == "", "none", s) },
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pick is yes when cond holds, else no.
func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// page is what every page shows around its content.
type page struct {
	Title    string
	LoggedIn bool // shows the navigation
}

type loginPage struct {
	page
	Next    string
	Message string
}

type overviewPage struct {
	page
	Status Status
}

type bucketPage struct {
	page
	Bucket, Prefix string
	Objects        []Object
	Truncated      bool
	Limit          int
}

type errorPage struct {
	page
	Status  int
	Message string
}

// render executes a page into a buffer first, so a template failure is a clean 500
// instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.WarnContext(r.Context(), "console template failed", "page", name, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// loginForm shows the login form, or continues where the visitor was going when they
// are logged in already.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s.sessions.valid(sessionToken(r)) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login.html", loginPage{page: page{Title: "Login"}, Next: next})
}

// login checks the S3 root credentials and starts a session. A wrong login is 401 with
// the form again and one message for both fields; a client out of login attempts is 429
// with Retry-After, and its credentials are not compared at all.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, errBadForm)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	client := loginClient(r)
	if ok, wait := s.throttle.allow(client); !ok {
		secs := retryAfter(wait)
		s.log.InfoContext(r.Context(), "console login throttled", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.render(w, r, http.StatusTooManyRequests, "login.html", loginPage{
			page: page{Title: "Login"}, Next: next, Message: fmt.Sprintf("Too many failed logins: try again in %d seconds.", secs),
		})
		return
	}
	if !s.credentialsMatch(r.PostForm.Get("accessKey"), r.PostForm.Get("secretKey")) {
		s.log.InfoContext(r.Context(), "console login failed", "remote", r.RemoteAddr)
		s.render(w, r, http.StatusUnauthorized, "login.html", loginPage{
			page: page{Title: "Login"}, Next: next, Message: "Invalid login",
		})
		return
	}
	s.throttle.forget(client)
	if old := sessionToken(r); old != "" {
		s.sessions.remove(old)
	}
	setSessionCookie(w, s.sessions.create(), s.sessions.ttl)
	s.log.InfoContext(r.Context(), "console login", "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// credentialsMatch compares both credentials in constant time, always both, on their
// SHA-256 so that not even their lengths leak.
func (s *Server) credentialsMatch(access, secret string) bool {
	ga, gs := sha256.Sum256([]byte(access)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(ga[:], s.accessSum[:])&subtle.ConstantTimeCompare(gs[:], s.secretSum[:]) == 1
}

// logout ends the session and returns to the login page.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.sessions.remove(sessionToken(r))
	clearSessionCookie(w)
	http.Redirect(w, r, pathLogin, http.StatusSeeOther)
}

// overview shows the three layers.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	st, err := s.source.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "overview.html", overviewPage{
		page:   page{Title: "Overview", LoggedIn: true},
		Status: st,
	})
}

// bucket lists the objects of a bucket, optionally under a prefix.
func (s *Server) bucket(w http.ResponseWriter, r *http.Request) {
	bucket, prefix := r.PathValue("bucket"), r.URL.Query().Get("prefix")
	objs, truncated, err := s.list(r, bucket, prefix)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "bucket.html", bucketPage{
		page:   page{Title: bucket, LoggedIn: true},
		Bucket: bucket, Prefix: prefix, Objects: objs, Truncated: truncated, Limit: listLimit,
	})
}

// list asks the Source for one object more than it shows, to know whether there are more.
func (s *Server) list(r *http.Request, bucket, prefix string) ([]Object, bool, error) {
	objs, err := s.source.Objects(r.Context(), bucket, prefix, listLimit+1)
	if err != nil {
		return nil, false, err
	}
	if len(objs) > listLimit {
		return objs[:listLimit], true, nil
	}
	return objs, false, nil
}

// chain shows one object followed down to the sealed store.
func (s *Server) chain(w http.ResponseWriter, r *http.Request) {
	bucket, key := r.PathValue("bucket"), r.PathValue("key")
	if key == "" {
		http.Redirect(w, r, bucketPath(bucket, ""), http.StatusSeeOther)
		return
	}
	c, err := s.source.Chain(r.Context(), bucket, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "chain.html", newChainPage(c))
}

// pageNotFound answers every path no route has, once the visitor is logged in.
func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, errNoRoute)
}

// staticFile serves the stylesheet. A directory, or a path fs.FS rejects (empty, ".."),
// is not found.
func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(s.static, name)
	if err != nil {
		s.fail(w, r, errNoRoute)
		return
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// healthz answers 200 "ok" to anyone: the console is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

// formatSize shows a size in bytes, with a binary unit beside it when it is large.
func formatSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s (%d B)", v, unit, n)
}

// formatTime shows a time in UTC to the second; the zero time is "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// isAPI reports whether r is for the JSON API.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, pathAPI) }
