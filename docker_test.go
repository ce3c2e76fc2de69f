package main

import (
	"context"
	"debug/elf"
	"encoding/json"
	"flag"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/embeddedvault"
)

// maxBinarySize keeps the image under 40 MB: distroless/static adds about 2 MB.
const maxBinarySize = 38_000_000

// dockerInstr is one instruction of a Dockerfile, continuation lines joined.
type dockerInstr struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions: comments dropped, lines ending in a
// backslash joined with the next.
func parseDockerfile(t *testing.T, b []byte) []dockerInstr {
	t.Helper()
	var out []dockerInstr
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		cont := strings.HasSuffix(line, `\`)
		cur.WriteString(strings.TrimSuffix(line, `\`))
		if cont {
			cur.WriteString(" ")
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			continue
		}
		cmd, args, _ := strings.Cut(text, " ")
		out = append(out, dockerInstr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends in a continuation line")
	}
	return out
}

// shellWords splits a command line as a POSIX shell would for plain words, single and double
// quotes (no expansions).
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// withoutOutput drops "-o FILE" from a go build command line and returns the rest and FILE.
func withoutOutput(words []string) (rest []string, out string) {
	for i := 0; i < len(words); i++ {
		if words[i] == "-o" && i+1 < len(words) {
			out = words[i+1]
			i++
			continue
		}
		rest = append(rest, words[i])
	}
	return rest, out
}

// execForm decodes a JSON exec form (["a", "b"]) or splits a shell form.
func execForm(t *testing.T, s string) []string {
	t.Helper()
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(s), &argv); err != nil {
			t.Fatalf("bad exec form %s: %v", s, err)
		}
		return argv
	}
	return shellWords(t, s)
}

// envPairs parses the arguments of an ENV instruction (KEY=value pairs, or the legacy
// "KEY value" form).
func envPairs(t *testing.T, args string) map[string]string {
	t.Helper()
	env := map[string]string{}
	words := shellWords(t, args)
	if len(words) > 0 && !strings.Contains(words[0], "=") {
		env[words[0]] = strings.Join(words[1:], " ")
		return env
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			t.Fatalf("ENV %s: %q is no KEY=value", args, w)
		}
		env[k] = v
	}
	return env
}

// TestDockerfile checks the image recipe: stages, base, user, ports, volume, healthcheck, the
// listen addresses, and that its go build line is the Makefile's and gives a small static
// binary (there is no Docker engine on the CI machines, so the build line is run here).
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	instrs := parseDockerfile(t, b)

	var froms []int
	for i, in := range instrs {
		if in.cmd == "FROM" {
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d FROM, want a multi-stage build", len(froms))
	}
	last := instrs[froms[len(froms)-1]:]
	var base string
	for _, w := range strings.Fields(last[0].args) {
		if !strings.HasPrefix(w, "--") {
			base = w
			break
		}
	}
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("last stage is FROM %s, want gcr.io/distroless/static* or scratch", base)
	}

	var (
		user, healthcheck, entrypoint, command string
		volumes, exposed                       []string
		env                                    = map[string]string{}
		binDest                                string
	)
	for _, in := range last[1:] {
		switch in.cmd {
		case "USER":
			user = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
			}
		case "VOLUME":
			volumes = append(volumes, execForm(t, in.args)...)
		case "HEALTHCHECK":
			healthcheck = in.args
		case "ENV":
			for k, v := range envPairs(t, in.args) {
				env[k] = v
			}
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			command = in.args
		case "COPY":
			if w := strings.Fields(in.args); strings.HasSuffix(w[len(w)-1], "/kmsbox") {
				binDest = w[len(w)-1]
			}
		}
	}
	switch user {
	case "", "root", "0", "0:0", "root:root":
		t.Errorf("last stage runs as USER %q, want a non-root user", user)
	}
	for _, p := range []string{"8200", "7373", "9000", "9001"} {
		if !slices.Contains(exposed, p) {
			t.Errorf("EXPOSE %v lacks %s", exposed, p)
		}
	}
	if !slices.Contains(volumes, "/data") {
		t.Errorf("VOLUME %v lacks /data", volumes)
	}
	if binDest == "" {
		t.Fatal("the last stage copies no kmsbox binary")
	}
	if env["KMSBOX_DATA_DIR"] != "/data" {
		t.Errorf("ENV KMSBOX_DATA_DIR=%q, want /data (the VOLUME)", env["KMSBOX_DATA_DIR"])
	}
	for name, port := range map[string]string{"KMSBOX_VAULT_ADDR": "8200", "KMSBOX_KES_ADDR": "7373", "KMSBOX_S3_ADDR": "9000", "KMSBOX_CONSOLE_ADDR": "9001"} {
		if v := env[name]; v != "0.0.0.0:"+port && v != ":"+port {
			t.Errorf("ENV %s=%q, want 0.0.0.0:%s (listen on every interface inside the container)", name, v, port)
		}
	}
	hcArgs, hcCmd, ok := strings.Cut(healthcheck, "CMD ")
	if !ok || strings.Contains(hcArgs, "NONE") {
		t.Fatalf("HEALTHCHECK %q has no CMD", healthcheck)
	}
	if argv := execForm(t, hcCmd); len(argv) < 2 || argv[0] != binDest || argv[1] != "health" {
		t.Errorf("HEALTHCHECK runs %q, want [%s health ...] (no shell in a distroless image)", argv, binDest)
	}
	if argv := append(execForm(t, entrypoint), execForm(t, command)...); len(argv) < 2 || argv[0] != binDest || argv[1] != "server" {
		t.Errorf("ENTRYPOINT+CMD run %q, want [%s server ...]", argv, binDest)
	}

	// The build line: the Dockerfile's and the Makefile's must agree.
	var dockerBuild string
	for _, in := range instrs[:froms[len(froms)-1]] {
		if in.cmd != "RUN" {
			continue
		}
		for _, part := range regexp.MustCompile(`&&|;`).Split(in.args, -1) {
			if strings.Contains(part, "go build") {
				dockerBuild = strings.TrimSpace(part)
			}
		}
	}
	if dockerBuild == "" {
		t.Fatal("no RUN line of the build stage runs go build")
	}
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUILD\s*\??=\s*(.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile has no BUILD = line")
	}
	makeBuild := strings.NewReplacer("$(GO)", "go", "$(BIN)", "bin/kmsbox").Replace(strings.TrimSpace(string(m[1])))
	dockerWords, dockerOut := withoutOutput(shellWords(t, dockerBuild))
	makeWords, _ := withoutOutput(shellWords(t, makeBuild))
	if !slices.Equal(dockerWords, makeWords) {
		t.Errorf("Dockerfile builds with %q, Makefile with %q", dockerWords, makeWords)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags=-s -w"} {
		if !slices.Contains(dockerWords, want) {
			t.Errorf("Dockerfile build line %q lacks %q", dockerBuild, want)
		}
	}
	if dockerOut == "" {
		t.Fatalf("Dockerfile build line %q has no -o", dockerBuild)
	}

	// Run exactly that line, only the output redirected, and inspect the binary.
	bin := filepath.Join(t.TempDir(), "kmsbox")
	line := strings.Replace(dockerBuild, "-o "+dockerOut, "-o "+bin, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "sh", "-c", line)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("$ %s\n%v\n%s", line, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: not statically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("the binary has a symbol table: -ldflags=\"-s -w\" not applied")
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxBinarySize {
		t.Errorf("the binary is %d bytes, want < %d so that the image stays under 40 MB", fi.Size(), maxBinarySize)
	}
	t.Logf("static binary: %.1f MB", float64(fi.Size())/1e6)
}

// composeFile is the part of docker-compose.yml the test reads.
type composeFile struct {
	Services map[string]struct {
		Build       string            `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestDockerCompose(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	kms, ok := c.Services["kmsbox"]
	if !ok {
		t.Fatalf("docker-compose.yml has no kmsbox service; services: %v", c.Services)
	}
	if kms.Build == "" && kms.Image == "" {
		t.Error("the kmsbox service has neither build nor image")
	}
	if !slices.Contains(kms.Command, "server") {
		t.Errorf("the kmsbox service runs %q, want the server", kms.Command)
	}
	if !strings.Contains(strings.Join(kms.Healthcheck.Test, " "), "kmsbox health") {
		t.Errorf("the kmsbox service's healthcheck %q does not run kmsbox health", kms.Healthcheck.Test)
	}
	var sans []string
	for i, a := range kms.Command {
		if a == "--san" && i+1 < len(kms.Command) {
			sans = append(sans, kms.Command[i+1])
		}
	}
	mounts := func(vols []string) map[string]string { // volume name -> target
		m := map[string]string{}
		for _, v := range vols {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				m[parts[0]] = parts[1]
			}
		}
		return m
	}
	kmsMounts := mounts(kms.Volumes)

	checkArgs(t, "kmsbox service", kms.Command)
	// The seed the service names is a file of the repo mounted into the container, and it is
	// valid: the start would stop on it otherwise.
	if i := slices.Index(kms.Command, "--seed"); i >= 0 && i+1 < len(kms.Command) {
		host := ""
		for src, dst := range kmsMounts {
			if dst == kms.Command[i+1] {
				host = src
			}
		}
		if host == "" {
			t.Errorf("the kmsbox service's --seed %s is not a mounted file", kms.Command[i+1])
		} else if _, err := seed.ReadFile(host, seed.Options{VaultPolicy: embeddedvault.ParsePolicy}); err != nil {
			t.Errorf("the kmsbox service's seed %s: %v", host, err)
		}
	} else {
		t.Error("the kmsbox service has no --seed: the fixture's buckets and keys come from one")
	}
	for name := range kms.Environment {
		if strings.HasPrefix(name, "KMSBOX_") && !slices.Contains(flagEnvVars(serverFlags()), name) {
			t.Errorf("the kmsbox service sets %s, which no flag of kmsbox server reads", name)
		}
	}

	clients, selftests := 0, 0
	for name, svc := range c.Services {
		if name == "kmsbox" {
			continue
		}
		dep, ok := svc.DependsOn["kmsbox"]
		if !ok {
			continue
		}
		clients++
		if dep.Condition != "service_healthy" {
			t.Errorf("service %s depends on kmsbox with condition %q, want service_healthy", name, dep.Condition)
		}
		shared := ""
		for vol, target := range mounts(svc.Volumes) {
			if kmsMounts[vol] == "/data" {
				shared = target
				if _, ok := c.Volumes[vol]; !ok {
					t.Errorf("volume %s is not declared under volumes:", vol)
				}
			}
		}
		if shared == "" {
			t.Errorf("service %s does not mount the volume kmsbox keeps /data in (%v vs %v)", name, svc.Volumes, kms.Volumes)
			continue
		}
		if svc.Build != "" { // the kmsbox image as a client: the selftest
			checkArgs(t, "service "+name, svc.Command)
			if len(svc.Command) == 0 || svc.Command[0] != "selftest" {
				t.Errorf("service %s is built from the Dockerfile but runs %q, want selftest", name, svc.Command)
				continue
			}
			selftests++
			// The env file names /data/... paths: the client must see them at the same place.
			if shared != "/data" {
				t.Errorf("service %s mounts the data volume at %s, want /data (the env file's paths)", name, shared)
			}
			host := ""
			for i, a := range svc.Command {
				if a == "--host" && i+1 < len(svc.Command) {
					host = svc.Command[i+1]
				}
			}
			if !slices.Contains(sans, host) {
				t.Errorf("service %s runs selftest with --host %q, which is not a --san of kmsbox (%v)", name, host, sans)
			}
			continue
		}
		if ca := svc.Environment["AWS_CA_BUNDLE"]; ca != shared+"/certs/ca.crt" {
			t.Errorf("service %s: AWS_CA_BUNDLE=%q, want the exported CA %s/certs/ca.crt", name, ca, shared)
		}
		u, err := url.Parse(svc.Environment["AWS_ENDPOINT_URL"])
		if err != nil || u.Scheme != "https" || u.Port() != "9000" {
			t.Errorf("service %s: AWS_ENDPOINT_URL=%q, want https://<host>:9000", name, svc.Environment["AWS_ENDPOINT_URL"])
		} else if !slices.Contains(sans, u.Hostname()) {
			t.Errorf("service %s reaches kmsbox as %s, which is not a --san of kmsbox (%v): TLS would fail", name, u.Hostname(), sans)
		}
		if svc.Environment["AWS_ACCESS_KEY_ID"] != kms.Environment["MINIO_ROOT_USER"] ||
			svc.Environment["AWS_SECRET_ACCESS_KEY"] != kms.Environment["MINIO_ROOT_PASSWORD"] {
			t.Errorf("service %s's AWS credentials are not kmsbox's MINIO_ROOT_USER/PASSWORD", name)
		}
		script := strings.Join(append(svc.Entrypoint, svc.Command...), " ")
		for _, bad := range []string{"--no-verify-ssl", " -k ", "--insecure", "skip-verify"} {
			if strings.Contains(script, bad) {
				t.Errorf("service %s skips certificate verification (%s)", name, bad)
			}
		}
	}
	if clients == 0 {
		t.Error("no client service depends on kmsbox")
	}
	if selftests != 1 {
		t.Errorf("%d services run kmsbox selftest, want 1 (for docker compose up --exit-code-from)", selftests)
	}
}

// checkArgs checks a kmsbox command line of a compose service against the binary's command
// line: a known command, and only flags that command has (a value flag takes the next word).
func checkArgs(t *testing.T, what string, argv []string) {
	t.Helper()
	if len(argv) == 0 {
		t.Errorf("%s runs no command", what)
		return
	}
	var command *cli.Command
	for _, c := range newApp(io.Discard, io.Discard).Commands {
		if c.Name == argv[0] {
			command = c
		}
	}
	if command == nil {
		t.Errorf("%s runs %q: kmsbox has no such command", what, argv[0])
		return
	}
	for i := 1; i < len(argv); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(argv[i], "-"), "=")
		if !strings.HasPrefix(argv[i], "-") {
			t.Errorf("%s: stray argument %q", what, argv[i])
			continue
		}
		var flag cli.Flag
		for _, f := range command.Flags {
			if slices.Contains(f.Names(), name) {
				flag = f
			}
		}
		if flag == nil {
			t.Errorf("%s: kmsbox %s has no flag --%s", what, command.Name, name)
			continue
		}
		if _, isBool := flag.(*cli.BoolFlag); !isBool && !hasValue {
			i++ // the value
		}
	}
	// And the binary parses it (the server is not started: only the flags are checked).
	set := flagSet(t, command, argv[1:])
	if set == nil {
		t.Errorf("%s: kmsbox %s does not parse %q", what, command.Name, argv[1:])
	}
}

// flagSet parses args with the command's flags, nil when they do not parse.
func flagSet(t *testing.T, command *cli.Command, args []string) *flag.FlagSet {
	t.Helper()
	set := flag.NewFlagSet(command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range command.Flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		return nil
	}
	return set
}

// flagEnvVars lists the environment variables the flags read.
func flagEnvVars(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		if e, ok := f.(interface{ GetEnvVars() []string }); ok {
			names = append(names, e.GetEnvVars()...)
		}
	}
	return names
}
