//go:build e2e

// Package e2e drives the real kmsbox binary (KMSBOX_BIN, built by `make e2e`) with the real
// clients people use: Debian's aws cli v2 and pip's aws cli v1, s3cmd, rclone, restic and curl,
// plus the foundation checks of the command line (health, env, restart, port conflicts,
// graceful stop, identities) and the start-to-ready measurement.
//
// The harness starts `kmsbox server --dev` on 127.0.0.1:0 ports in a temporary data dir and
// synchronizes only on the server's own log lines (`msg=ready`, `msg=listening`), never on
// sleeps. Each client runs with a clean environment: a temporary HOME and only the variables
// it needs. A missing tool fails the test with what to install; nothing is skipped.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

// readyTimeout bounds how long a start may take before the harness gives up; generous, since
// the machine is shared and this is synchronization, not a measurement.
const readyTimeout = 30 * time.Second

// stopTimeout is the promised bound for a graceful stop (issue 2 item 5).
const stopTimeout = 5 * time.Second

// cliTimeout bounds one client command so that a hung client fails the test instead of the run.
const cliTimeout = 4 * time.Minute

// envVars are the variables `kmsbox server --dev` must write to the env file.
var envVars = []string{
	"VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN", "VAULT_TRANSIT_MOUNT", "VAULT_TRANSIT_KEY",
	"KES_SERVER", "KES_CLIENT_CERT", "KES_CLIENT_KEY",
	"AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
	"MINIO_KMS_KES_ENDPOINT", "MINIO_KMS_KES_CERT_FILE", "MINIO_KMS_KES_KEY_FILE",
	"MINIO_KMS_KES_KEY_NAME", "MINIO_KMS_KES_CAPATH",
}

// kmsboxBin returns the binary under test.
func kmsboxBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("KMSBOX_BIN")
	if bin == "" {
		t.Fatal("KMSBOX_BIN is not set: run `make e2e` (it builds bin/kmsbox and points KMSBOX_BIN at it)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("KMSBOX_BIN: %v (run `make build`)", err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("KMSBOX_BIN=%s is not an executable file", abs)
	}
	return abs
}

// peerBin returns the path of a real third-party server binary named by env (the Makefile
// builds it into bin/), failing with how to build it.
func peerBin(t testing.TB, env, target string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		t.Fatalf("%s is not set: run `make e2e` (it builds %s and points %s at it)", env, target, env)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable file (build it with `make %s`): %v", env, abs, target, err)
	}
	return abs
}

// startPeer runs a real third-party server (bin args, in dir unless "", with env) and
// returns its output once a line contains ready. At cleanup it gets SIGTERM, and is killed
// if it lingers; its output is logged when the test failed.
func startPeer(t testing.TB, bin, dir string, args, env []string, ready string) *lineLog {
	t.Helper()
	_, out := startPeerCmd(t, bin, dir, args, env, ready)
	return out
}

// startPeerCmd is startPeer that also returns the running command, for its pid.
func startPeerCmd(t testing.TB, bin, dir string, args, env []string, ready string) (*exec.Cmd, *lineLog) {
	t.Helper()
	out := newLineLog()
	x := exec.Command(bin, args...)
	x.Env, x.Dir = env, dir
	x.Stdout, x.Stderr = out, out // one writer: exec serializes the writes
	if err := x.Start(); err != nil {
		t.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	exited := make(chan struct{})
	go func() { x.Wait(); out.close(); close(exited) }()
	t.Cleanup(func() {
		x.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			t.Logf("%s still runs %v after SIGTERM; killing it", filepath.Base(bin), stopTimeout)
			x.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, _, err := out.waitFor(ctx, 0, func(l string) bool { return strings.Contains(l, ready) }); err != nil {
		t.Fatalf("%s never printed %q: %v\n%s", filepath.Base(bin), ready, err, out)
	}
	return x, out
}

// lineLog collects a process's stderr line by line and lets tests wait for a line.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	closed  bool
	changed chan struct{} // closed and replaced on every new line and at close
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

// Write implements io.Writer for exec.Cmd.Stderr.
func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(b), nil
}

// close marks the end of the stream (the process has exited).
func (l *lineLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.lines = append(l.lines, string(l.partial))
		l.partial = nil
	}
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
}

// snapshot returns the lines so far.
func (l *lineLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *lineLog) String() string { return strings.Join(l.snapshot(), "\n") }

// waitFor returns the first line, from index from on, for which match is true, with its
// index. It fails when the stream ends or ctx is done first.
func (l *lineLog) waitFor(ctx context.Context, from int, match func(string) bool) (string, int, error) {
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if match(l.lines[i]) {
				line := l.lines[i]
				l.mu.Unlock()
				return line, i, nil
			}
		}
		from = max(from, len(l.lines))
		closed, changed := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			return "", 0, errors.New("the process exited")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", 0, ctx.Err()
		}
	}
}

// parseLogfmt parses one line of slog's text handler: key=value pairs, values quoted with Go
// syntax when they hold spaces or quotes. It returns nil for a line that is no log record.
func parseLogfmt(line string) map[string]string {
	fields := map[string]string{}
	s := strings.TrimSpace(line)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			return nil
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil
			}
			v, err := strconv.Unquote(s[:end+1])
			if err != nil {
				return nil
			}
			val, s = v, s[end+1:]
		} else if sp := strings.IndexByte(s, ' '); sp >= 0 {
			val, s = s[:sp], s[sp:]
		} else {
			val, s = s, ""
		}
		fields[key] = val
		s = strings.TrimLeft(s, " ")
	}
	if fields["msg"] == "" {
		return nil
	}
	return fields
}

// proc is one running kmsbox process.
type proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	args    []string
	dataDir string
	started time.Time

	stderr *lineLog
	stdout *testutil.SyncBuffer

	exited   chan struct{}
	exitCode int
	exitAt   time.Time

	// Filled by waitReady.
	urls map[string]string // "vault", "kes", "s3" -> https://host:port
	env  map[string]string // the parsed env file
}

// serverArgs are the arguments of a dev server on 127.0.0.1:0 ports in dataDir.
func serverArgs(dataDir string, extra ...string) []string {
	return append([]string{"server", "--dev", "--data-dir", dataDir,
		"--vault-addr", "127.0.0.1:0", "--kes-addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0",
		"--console-addr", "127.0.0.1:0"}, extra...)
}

// baseEnv is the environment every child starts from: PATH, a HOME of its own and a locale.
func baseEnv(home string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC"}
	for _, name := range []string{"PYENV_ROOT", "PYENV_VERSION", "TMPDIR"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// spawn starts kmsbox with args and a clean environment plus extraEnv. The process is stopped
// with SIGTERM (and must exit 0) at cleanup unless the test stopped it already.
func spawn(t testing.TB, args []string, extraEnv ...string) *proc {
	t.Helper()
	bin := kmsboxBin(t)
	p := &proc{
		t:      t,
		args:   args,
		stderr: newLineLog(),
		stdout: &testutil.SyncBuffer{},
		exited: make(chan struct{}),
	}
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			p.dataDir = args[i+1]
		}
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(baseEnv(t.TempDir()), extraEnv...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.Dir = t.TempDir()
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.exitAt = time.Now()
		p.exitCode = 0
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				p.exitCode = ee.ExitCode() // -1 when killed by a signal
			} else {
				p.exitCode = -2
			}
		}
		p.stderr.close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			code, took := p.stop()
			if code != 0 {
				t.Errorf("kmsbox %s: exit code %d after SIGTERM at cleanup, want 0", strings.Join(args[:1], " "), code)
			}
			if took > stopTimeout {
				t.Errorf("kmsbox took %v to stop after SIGTERM at cleanup, want < %v", took, stopTimeout)
			}
		}
		if t.Failed() {
			t.Logf("kmsbox %s stderr:\n%s", strings.Join(args, " "), p.stderr)
		}
	})
	return p
}

// startServer starts `kmsbox server --dev` in dataDir on 127.0.0.1:0 ports and returns when
// it is ready, with the URLs from its log and the env file it wrote.
func startServer(t testing.TB, dataDir string, extra ...string) *proc {
	t.Helper()
	p := spawn(t, serverArgs(dataDir, extra...))
	p.waitReady(t)
	return p
}

// waitReady waits for the `msg=ready` line and a `msg=listening` line for each of the three
// servers and the console, then parses the env file.
func (p *proc) waitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, _, err := p.stderr.waitFor(ctx, 0, func(l string) bool { return parseLogfmt(l)["msg"] == "ready" }); err != nil {
		t.Fatalf("kmsbox never logged msg=ready: %v\nstderr:\n%s", err, p.stderr)
	}
	p.urls = map[string]string{}
	for _, name := range []string{"vault", "kes", "s3", "console"} {
		line, _, err := p.stderr.waitFor(ctx, 0, func(l string) bool {
			f := parseLogfmt(l)
			return f["msg"] == "listening" && f["server"] == name
		})
		if err != nil {
			t.Fatalf("kmsbox never logged msg=listening server=%s: %v\nstderr:\n%s", name, err, p.stderr)
		}
		u := parseLogfmt(line)["url"]
		if !strings.HasPrefix(u, "https://127.0.0.1:") {
			t.Fatalf("listening line for %s has url %q, want https://127.0.0.1:<port>", name, u)
		}
		p.urls[name] = u
	}
	env, err := parseEnvFile(filepath.Join(p.dataDir, "kmsbox.env"))
	if err != nil {
		t.Fatalf("env file: %v", err)
	}
	p.env = env
}

// stop sends SIGTERM and waits for the exit; it returns the exit code and how long the stop
// took. A process still alive 3*stopTimeout later is killed and the test fails.
func (p *proc) stop() (code int, took time.Duration) {
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(3 * stopTimeout):
		p.t.Errorf("kmsbox still running %v after SIGTERM; killing it", 3*stopTimeout)
		p.cmd.Process.Kill()
		<-p.exited
	}
	return p.exitCode, p.exitAt.Sub(sent)
}

// wait waits for the process to exit on its own (within d) and returns its exit code.
func (p *proc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.exitCode
	case <-time.After(d):
		t.Fatalf("kmsbox did not exit within %v\nstderr:\n%s", d, p.stderr)
		return 0
	}
}

// mustStop stops the server and asserts the promised clean exit: code 0 within 5 s.
func (p *proc) mustStop(t testing.TB) {
	t.Helper()
	code, took := p.stop()
	if code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, p.stderr)
	}
	if took > stopTimeout {
		t.Fatalf("stop took %v after SIGTERM, want < %v", took, stopTimeout)
	}
}

// addr returns host:port of server name ("vault", "kes", "s3").
func (p *proc) addr(name string) string { return strings.TrimPrefix(p.urls[name], "https://") }

// caFile is the CA certificate clients trust.
func (p *proc) caFile() string { return filepath.Join(p.dataDir, "certs", "ca.crt") }

// devUnsealKey is the unseal key `kmsbox server --dev` leaves in its data dir.
func (p *proc) devUnsealKey(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dataDir, "vault-dev-INSECURE-unseal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dev struct {
		UnsealKey string `json:"unseal_key"`
	}
	if err := json.Unmarshal(b, &dev); err != nil || dev.UnsealKey == "" {
		t.Fatalf("vault-dev-INSECURE-unseal.json: %v, %s", err, b)
	}
	return dev.UnsealKey
}

// envFor returns a clean environment with a fresh HOME, the named variables from the env file
// and the extra NAME=value pairs.
func (p *proc) envFor(t testing.TB, names []string, extra ...string) []string {
	t.Helper()
	env := baseEnv(t.TempDir())
	for _, n := range names {
		v, ok := p.env[n]
		if !ok {
			t.Fatalf("env file has no %s", n)
		}
		env = append(env, n+"="+v)
	}
	return append(env, extra...)
}

// parseEnvFile reads the `export NAME='value'` lines that kmsbox writes (POSIX single quotes,
// where a quote inside a value is closed, escaped with a backslash and reopened).
func parseEnvFile(name string) (map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not an export line: %q", name, i+1, line)
		}
		key, quoted, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no '=': %q", name, i+1, line)
		}
		val, err := shellUnquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		env[key] = val
	}
	return env, nil
}

// shellUnquote undoes POSIX quoting: single-quoted runs, backslash escapes and bare words.
func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for len(s) > 0 {
		switch s[0] {
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote in %q", s)
			}
			b.WriteString(s[1 : 1+end])
			s = s[end+2:]
		case '\\':
			if len(s) < 2 {
				return "", errors.New("trailing backslash")
			}
			b.WriteByte(s[1])
			s = s[2:]
		case ' ', '\t', ';', '|', '&', '$', '`', '"':
			return "", fmt.Errorf("unexpected %q in value", s[0])
		default:
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String(), nil
}

// result is what a finished command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// cmd describes one client command.
type cmd struct {
	env   []string
	dir   string
	stdin io.Reader
}

// run runs name with args and returns its result; it fails the test only when the command
// cannot be started or hangs past cliTimeout.
func (c cmd) run(t testing.TB, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	x := exec.CommandContext(ctx, name, args...)
	x.Env = c.env
	x.Dir = c.dir
	x.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	start := time.Now()
	err := x.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		t.Fatalf("$ %s %s\nstill running after %v; stderr:\n%s", filepath.Base(name), strings.Join(args, " "), cliTimeout, tail(res.stderr))
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("$ %s %s: %v", name, strings.Join(args, " "), err)
	}
	t.Logf("$ %s %s  (exit %d, %v)", filepath.Base(name), strings.Join(args, " "), res.code, time.Since(start).Round(time.Millisecond))
	return res
}

// ok runs the command and fails the test unless it exits 0; it returns stdout.
func (c cmd) ok(t testing.TB, name string, args ...string) string {
	t.Helper()
	r := c.run(t, name, args...)
	if r.code != 0 {
		t.Fatalf("$ %s %s\nexit code %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), r.code, tail(r.stdout), tail(r.stderr))
	}
	return r.stdout
}

// fails runs the command and fails the test unless it exits non-zero; it returns the result.
func (c cmd) fails(t testing.TB, name string, args ...string) result {
	t.Helper()
	r := c.run(t, name, args...)
	if r.code == 0 {
		t.Fatalf("$ %s %s\nsucceeded, want a failure\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), tail(r.stdout), tail(r.stderr))
	}
	return r
}

// tail keeps the end of long outputs readable in failures.
func tail(s string) string {
	const n = 6000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// needTool returns the path of a client on PATH or fails with what to install.
func needTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("the e2e suite needs %s on PATH: apt-get install %s (.ci/run installs it)", name, debianPackage)
	}
	return p
}

// writeRandom writes size random bytes to name and returns their hex SHA-256.
func writeRandom(t testing.TB, name string, size int64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeFile writes b to name, making its directory.
func writeFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sha256File returns the hex SHA-256 of a file.
func sha256File(t testing.TB, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sameFile fails the test unless got has the content of want.
func sameFile(t testing.TB, want, got string) {
	t.Helper()
	if w, g := sha256File(t, want), sha256File(t, got); w != g {
		t.Fatalf("%s differs from %s: sha256 %s != %s", got, want, g, w)
	}
}

// treeSizes are the file sizes of the trees the sync and backup clients move: empty files,
// the DARE package boundary (64 KiB) on both sides, more than one package, and a file that
// needs several packages and, with small chunk settings, multipart.
var treeSizes = map[string]int64{
	"empty":                      0,
	"one-byte":                   1,
	"small.txt":                  100,
	"dare/65535":                 65535,
	"dare/65536":                 65536,
	"dare/65537":                 65537,
	"dare/200k.bin":              200 << 10,
	"deep/a/b/c/1MiB+13.bin":     1<<20 + 13,
	"names/with space.txt":       4321,
	"names/ünïcödé-€.txt":        77,
	"names/plus+and=equals&.txt": 9,
	"big/12MiB.bin":              12 << 20,
}

// makeTree writes treeSizes under dir with random content.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	for name, size := range treeSizes {
		writeRandom(t, filepath.Join(dir, filepath.FromSlash(name)), size)
	}
}

// treeDigest maps every regular file under dir (slash paths) to "size sha256".
func treeDigest(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%v)", path, d.Type())
		}
		rel, _ := filepath.Rel(dir, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = fmt.Sprintf("%d %s", fi.Size(), sha256File(t, path))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameTree fails the test unless the trees hold the same files with the same bytes.
func sameTree(t testing.TB, want, got string) {
	t.Helper()
	w, g := treeDigest(t, want), treeDigest(t, got)
	var diffs []string
	for name, d := range w {
		switch gd, ok := g[name]; {
		case !ok:
			diffs = append(diffs, "missing "+name)
		case gd != d:
			diffs = append(diffs, fmt.Sprintf("differs %s: got %s, want %s", name, gd, d))
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			diffs = append(diffs, "extra "+name)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("tree %s differs from %s:\n  %s", got, want, strings.Join(diffs, "\n  "))
	}
	if len(w) == 0 {
		t.Fatalf("tree %s is empty", want)
	}
}

// noPlaintextAtRest fails the test if any file under dir holds one of the needles: object
// bodies must be stored encrypted and SSE-C keys never stored at all.
func noPlaintextAtRest(t testing.TB, dir string, needles map[string][]byte) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a replaced body the server unlinked meanwhile
		}
		if err != nil {
			return err
		}
		files++
		for what, needle := range needles {
			if len(needle) < 16 {
				t.Fatalf("needle %q is too short to mean anything", what)
			}
			if bytes.Contains(b, needle) {
				t.Errorf("%s is stored in the clear in %s", what, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no files under %s", dir)
	}
}

// scanLines returns the non-empty lines of s.
func scanLines(s string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
