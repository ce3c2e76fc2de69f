package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
)

// envFormats are the values of `kmsbox env --format`.
var envFormats = []string{"shell", "dotenv", "json", "github", "compose"}

// envCommand is `kmsbox env`: the env file that `kmsbox server --dev` wrote, as shell
// exports or in the format another tool reads.
func envCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "print the client settings written by 'kmsbox server --dev' (shell exports, dotenv, JSON, $GITHUB_ENV, compose)",
		UsageText: "eval \"$(kmsbox env)\"\n   kmsbox env --format github >> \"$GITHUB_ENV\"\n   kmsbox env --format compose --host kmsbox",
		Flags: []cli.Flag{
			dataDirFlag(),
			&cli.StringFlag{Name: "format", Value: "shell", Usage: "shell, dotenv (NAME=value, for docker --env-file), json, github (lines for $GITHUB_ENV) or compose (an environment: block)"},
			hostFlag(),
		},
		Action: func(c *cli.Context) error {
			vars, raw, err := readEnvFile(c.String("data-dir"))
			if err != nil {
				return err
			}
			format, host := c.String("format"), c.String("host")
			if format == "shell" && host == "" {
				_, err = c.App.Writer.Write(raw) // the file as written, comments included
				return err
			}
			if host != "" {
				vars = withHost(vars, host)
			}
			out, err := formatEnv(vars, format)
			if err != nil {
				return err
			}
			_, err = c.App.Writer.Write(out)
			return err
		},
	}
}

// hostFlag is --host of the commands that read the env file from another machine or
// container: the host name that replaces the one in every URL of the env file.
func hostFlag() cli.Flag {
	return &cli.StringFlag{Name: "host", Usage: "host name to use in every URL instead of the env file's (e.g. the compose service name; it must be a --san of the server)"}
}

// envVar is one variable of the env file, in the file's order.
type envVar struct{ name, value string }

// exportLine is one line `export NAME='value'` of the env file, as appliance writes it.
var exportLine = regexp.MustCompile(`^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// readEnvFile reads and parses <dataDir>/kmsbox.env.
func readEnvFile(dataDir string) ([]envVar, []byte, error) {
	raw, err := os.ReadFile(appliance.EnvFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("no env file in %s: start 'kmsbox server --dev' first", dataDir)
	}
	if err != nil {
		return nil, nil, err
	}
	vars, err := parseEnvFile(raw)
	return vars, raw, err
}

// parseEnvFile parses the shell exports of the env file: comments, blank lines and
// `export NAME='value'` with POSIX single quoting ('\” for a quote).
func parseEnvFile(b []byte) ([]envVar, error) {
	var vars []envVar
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := exportLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("env file line %d: not an export line: %q", i+1, line)
		}
		v, err := shellUnquote(m[2])
		if err != nil {
			return nil, fmt.Errorf("env file line %d: %w", i+1, err)
		}
		vars = append(vars, envVar{m[1], v})
	}
	return vars, nil
}

// shellUnquote decodes a sequence of single-quoted parts and backslash-escaped quotes.
func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for s != "" {
		switch {
		case strings.HasPrefix(s, `\'`):
			b.WriteByte('\'')
			s = s[2:]
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated quote")
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
		default:
			return "", fmt.Errorf("unquoted text %q", s)
		}
	}
	return b.String(), nil
}

// withHost replaces the host of every https URL value by host, keeping the port.
func withHost(vars []envVar, host string) []envVar {
	out := make([]envVar, len(vars))
	for i, v := range vars {
		if u, err := url.Parse(v.value); err == nil && u.Scheme == "https" && u.Host != "" {
			u.Host = host + ":" + u.Port()
			if u.Port() == "" {
				u.Host = host
			}
			v.value = u.String()
		}
		out[i] = v
	}
	return out
}

// plainValue matches values that need no quoting in a dotenv or $GITHUB_ENV line.
var plainValue = regexp.MustCompile(`^[A-Za-z0-9_./:@+,=-]*$`)

// formatEnv renders vars in format (see envFormats).
func formatEnv(vars []envVar, format string) ([]byte, error) {
	var b bytes.Buffer
	switch format {
	case "shell":
		for _, v := range vars {
			fmt.Fprintf(&b, "export %s='%s'\n", v.name, strings.ReplaceAll(v.value, "'", `'\''`))
		}
	case "dotenv", "github":
		for _, v := range vars {
			if !plainValue.MatchString(v.value) {
				// Docker's --env-file and $GITHUB_ENV take values verbatim: no quoting exists.
				return nil, fmt.Errorf("--format %s: the value of %s has characters these files cannot carry", format, v.name)
			}
			fmt.Fprintf(&b, "%s=%s\n", v.name, v.value)
		}
	case "json":
		b.WriteString("{")
		for i, v := range vars {
			if i > 0 {
				b.WriteString(",")
			}
			name, _ := json.Marshal(v.name)
			value, _ := json.Marshal(v.value)
			fmt.Fprintf(&b, "\n  %s: %s", name, value)
		}
		b.WriteString("\n}\n")
	case "compose":
		b.WriteString("environment:\n")
		for _, v := range vars {
			value, _ := json.Marshal(v.value) // a JSON string is a YAML double-quoted scalar
			fmt.Fprintf(&b, "  %s: %s\n", v.name, value)
		}
	default:
		return nil, fmt.Errorf("--format %q: want one of %s", format, strings.Join(envFormats, ", "))
	}
	return b.Bytes(), nil
}
