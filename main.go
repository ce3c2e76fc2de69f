// Command kmsbox runs the whole encrypted object-storage stack of MinIO's KMS guide in one
// process: a Vault-compatible sealed store on :8200, a KES-compatible key server on :7373 and
// an S3 server with auto-encryption on :9000.
//
// This file is the command line: flags, environment variables and config file names are read
// here and handed to package appliance as one Config.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/vault/sdk/helper/mlock"
	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
	"github.com/kmsbox/kmsbox/appliance/kesconf"
	"github.com/kmsbox/kmsbox/appliance/vaultconf"
	"github.com/kmsbox/kmsbox/certs"
	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module
// version or "dev".
var version = ""

func main() {
	if err := run(os.Stdout, os.Stderr, os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "kmsbox: %v\n", err)
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// run runs the command line args (args[0] is the program name).
func run(stdout, stderr io.Writer, args []string) error {
	app := newApp(stdout, stderr)
	return app.Run(flagsFirst(app.Commands, args))
}

// flagsFirst moves the flags of the command named by args in front of its positional
// arguments, so that the guide's word order works: `kes key create minio-key-1 -k` and
// `kes identity new NAME --key F --cert F`. (urfave/cli v2 stops parsing flags at the first
// positional argument.) A "--" ends the flags as usual.
func flagsFirst(cmds []*cli.Command, args []string) []string {
	if len(args) < 2 {
		return args
	}
	i := 1
	var cmd *cli.Command
	for i < len(args) {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds, i = next, next.Subcommands, i+1
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	out := append([]string{}, args[:i]...)
	var positional []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || a == "-" || name == "" {
			positional = append(positional, a)
			continue
		}
		out = append(out, a)
		if n, _, hasValue := strings.Cut(name, "="); !hasValue && takesValue[n] && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return append(out, positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// dataDirFlag is shared by every command that reads the data dir.
var dataDirFlag = &cli.StringFlag{
	Name:    "data-dir",
	Usage:   "directory for certificates, the sealed store, objects and the env file",
	Value:   "./kmsbox-data",
	EnvVars: []string{"KMSBOX_DATA_DIR"},
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:                 "kmsbox",
		Usage:                "Vault, KES and an encrypting S3 server in one binary",
		Version:              buildVersion(),
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideVersion:          true,
		// main prints errors and picks the exit code; the library would call os.Exit itself.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			serverCommand(),
			healthCommand(),
			envCommand(),
			certCommand(),
			identityCommand(),
			keyCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(c.App.Writer, "kmsbox %s\n", buildVersion())
					return nil
				},
			},
		},
	}
}

func serverCommand() *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "run the Vault (:8200), KES (:7373) and S3 (:9000) servers and the console (:9001)",
		Description: `Starts the three servers of MinIO's KMS guide in one process, each over TLS with a
certificate from a local CA kept in the data dir (<data-dir>/certs/ca.crt).

With --dev everything is ready at once: the vault is initialized and unsealed, a MinIO
client identity, its policy and the key minio-key-1 exist, S3 credentials are picked, and
the shell exports a client needs are written to <data-dir>/kmsbox.env (see 'kmsbox env').

The console (https://127.0.0.1:9001, login with the S3 access and secret key) shows the
three layers and, for every object, the chain object -> data key -> master key -> vault.

An empty address disables that server, e.g. --s3-addr "".`,
		Flags: []cli.Flag{
			dataDirFlag,
			&cli.StringFlag{Name: "vault-addr", Value: "127.0.0.1:8200", Usage: "listen address of the Vault API (empty disables)", EnvVars: []string{"KMSBOX_VAULT_ADDR"}},
			&cli.StringFlag{Name: "kes-addr", Value: "127.0.0.1:7373", Usage: "listen address of the KES API (empty disables)", EnvVars: []string{"KMSBOX_KES_ADDR"}},
			&cli.StringFlag{Name: "s3-addr", Value: "127.0.0.1:9000", Usage: "listen address of the S3 API (empty disables)", EnvVars: []string{"KMSBOX_S3_ADDR"}},
			&cli.StringFlag{Name: "console-addr", Value: "127.0.0.1:9001", Usage: "listen address of the web console, login with the S3 credentials (empty disables)", EnvVars: []string{"KMSBOX_CONSOLE_ADDR"}},
			&cli.StringSliceFlag{Name: "san", Usage: "extra DNS name or IP for the server certificate (repeatable)", EnvVars: []string{"KMSBOX_SAN"}},
			&cli.BoolFlag{Name: "dev", Usage: "initialize, unseal and seed everything; write the env file", EnvVars: []string{"KMSBOX_DEV"}},
			&cli.StringFlag{Name: "dev-root-token", Usage: "fixed Vault root token ID in dev mode", EnvVars: []string{"KMSBOX_DEV_ROOT_TOKEN", "VAULT_DEV_ROOT_TOKEN_ID"}},
			&cli.StringFlag{Name: "vault-config", Usage: "the guide's vault-config.json (or HCL)", EnvVars: []string{"KMSBOX_VAULT_CONFIG"}},
			&cli.StringFlag{Name: "kes-config", Usage: "a KES server config: the guide's TOML or the current YAML", EnvVars: []string{"KMSBOX_KES_CONFIG"}},
			&cli.BoolFlag{Name: "auto-encrypt", Usage: "encrypt (SSE-S3) every upload that asks for no encryption (on with --dev; env MINIO_KMS_AUTO_ENCRYPTION=on)", EnvVars: []string{"KMSBOX_AUTO_ENCRYPT"}},
			&cli.StringFlag{Name: "region", Value: "us-east-1", Usage: "S3 region", EnvVars: []string{"KMSBOX_REGION", "MINIO_REGION"}},
			&cli.StringFlag{Name: "domain", Usage: "domain for virtual-hosted-style S3 requests (<bucket>.<domain>)", EnvVars: []string{"KMSBOX_DOMAIN", "MINIO_DOMAIN"}},
			&cli.StringFlag{Name: "acme-domain", Usage: "get the server certificate for this name from an ACME CA", EnvVars: []string{"KMSBOX_ACME_DOMAIN"}},
			&cli.StringFlag{Name: "acme-ca", Usage: "ACME directory URL (with --acme-domain)", EnvVars: []string{"KMSBOX_ACME_CA"}},
			&cli.StringFlag{Name: "acme-email", Usage: "ACME account email (with --acme-domain)", EnvVars: []string{"KMSBOX_ACME_EMAIL"}},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error", EnvVars: []string{"KMSBOX_LOG_LEVEL"}},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", EnvVars: []string{"KMSBOX_LOG_FORMAT"}},
			&cli.BoolFlag{Name: "mlock", Usage: "lock all memory so that keys are never swapped to disk", EnvVars: []string{"KMSBOX_MLOCK"}},
		},
		Action: runServer,
	}
}

func runServer(c *cli.Context) error {
	log, err := newLogger(c.App.ErrWriter, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return err
	}
	if c.Bool("mlock") {
		if !mlock.Supported() {
			return errors.New("--mlock: locking memory is not supported on this system")
		}
		if err := mlock.LockMemory(); err != nil {
			return fmt.Errorf("--mlock: cannot lock memory: %v (run with CAP_IPC_LOCK or a higher RLIMIT_MEMLOCK, or drop --mlock)", err)
		}
	}
	cfg, err := serverConfig(c, log)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	a, err := appliance.Open(ctx, cfg)
	if err != nil {
		return err
	}
	log.Info("ready", "took", time.Since(start).Round(time.Millisecond))
	return a.Run(ctx)
}

// serverConfig turns flags and the MinIO environment variables of the guide into an
// appliance.Config.
func serverConfig(c *cli.Context, log *slog.Logger) (appliance.Config, error) {
	cfg := appliance.Config{
		DataDir:      c.String("data-dir"),
		VaultAddr:    c.String("vault-addr"),
		KESAddr:      c.String("kes-addr"),
		S3Addr:       c.String("s3-addr"),
		ConsoleAddr:  c.String("console-addr"),
		SANs:         c.StringSlice("san"),
		Dev:          c.Bool("dev"),
		DevRootToken: c.String("dev-root-token"),
		Logger:       log,
		Out:          c.App.Writer,
		S3: appliance.S3Config{
			AccessKey:   firstEnv("MINIO_ROOT_USER", "MINIO_ACCESS_KEY"),
			SecretKey:   firstEnv("MINIO_ROOT_PASSWORD", "MINIO_SECRET_KEY"),
			Region:      c.String("region"),
			Domain:      c.String("domain"),
			AutoEncrypt: c.Bool("auto-encrypt"),
			// An explicit --auto-encrypt=false wins over --dev.
			NoAutoEncrypt: c.IsSet("auto-encrypt") && !c.Bool("auto-encrypt"),
			KeyName:       os.Getenv("MINIO_KMS_KES_KEY_NAME"),
		},
	}
	switch v := strings.ToLower(os.Getenv("MINIO_KMS_AUTO_ENCRYPTION")); v {
	case "", "off", "false", "0":
	case "on", "true", "1":
		cfg.S3.AutoEncrypt = !cfg.S3.NoAutoEncrypt
	default:
		return cfg, fmt.Errorf("MINIO_KMS_AUTO_ENCRYPTION=%q: want on or off", v)
	}
	if d := c.String("acme-domain"); d != "" {
		cfg.ACME = &certs.ACMEConfig{Domains: []string{d}, CA: c.String("acme-ca"), Email: c.String("acme-email")}
	} else if c.IsSet("acme-ca") || c.IsSet("acme-email") {
		return cfg, errors.New("--acme-ca and --acme-email need --acme-domain")
	}
	if name := c.String("vault-config"); name != "" {
		vc, ignored, err := vaultconf.Load(name)
		if err != nil {
			return cfg, fmt.Errorf("--vault-config %s: %w", name, err)
		}
		if len(ignored) > 0 {
			log.Warn("--vault-config: kmsbox ignores these keys", "file", name, "keys", strings.Join(ignored, ", "))
		}
		if vc.ListenAddr != "" && !c.IsSet("vault-addr") {
			cfg.VaultAddr = vc.ListenAddr
		}
		cfg.VaultConfig = vc
	}
	if name := c.String("kes-config"); name != "" {
		kc, err := kesconf.ReadFile(name)
		if err != nil {
			return cfg, fmt.Errorf("--kes-config %s: %w", name, err)
		}
		if kc.Address != "" && !c.IsSet("kes-addr") {
			cfg.KESAddr = kc.Address
		}
		cfg.KESConfig = kc
	}
	kms, err := kmsFromEnv()
	if err != nil {
		return cfg, err
	}
	cfg.KMS = kms
	return cfg, nil
}

// kmsFromEnv reads the MINIO_KMS_* variables of the guide: a remote KES, or a single key.
func kmsFromEnv() (appliance.KMSConfig, error) {
	var k appliance.KMSConfig
	if ep := os.Getenv("MINIO_KMS_KES_ENDPOINT"); ep != "" {
		for _, e := range strings.Split(ep, ",") {
			if e = strings.TrimSpace(e); e != "" {
				k.KESEndpoints = append(k.KESEndpoints, e)
			}
		}
	}
	k.KESCertFile = os.Getenv("MINIO_KMS_KES_CERT_FILE")
	k.KESKeyFile = os.Getenv("MINIO_KMS_KES_KEY_FILE")
	k.KESCAPath = firstEnv("MINIO_KMS_KES_CAPATH", "MINIO_KMS_KES_CA_PATH")

	for _, name := range []string{"MINIO_KMS_SECRET_KEY", "MINIO_KMS_MASTER_KEY"} {
		v := os.Getenv(name)
		if file := os.Getenv(name + "_FILE"); file != "" {
			if v != "" {
				return k, fmt.Errorf("%s and %s_FILE are mutually exclusive", name, name)
			}
			if !strings.ContainsRune(file, os.PathSeparator) {
				file = filepath.Join("/run/secrets", file)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return k, fmt.Errorf("%s_FILE: %w", name, err)
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			continue
		}
		if k.StaticKey != "" {
			return k, errors.New("MINIO_KMS_SECRET_KEY and MINIO_KMS_MASTER_KEY are mutually exclusive")
		}
		k.StaticKey = v
	}
	return k, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func healthCommand() *cli.Command {
	return &cli.Command{
		Name:  "health",
		Usage: "exit 0 when every enabled server answers ready (for a Docker HEALTHCHECK)",
		Flags: []cli.Flag{
			dataDirFlag,
			&cli.StringFlag{Name: "vault-addr", Value: "127.0.0.1:8200", EnvVars: []string{"KMSBOX_VAULT_ADDR"}},
			&cli.StringFlag{Name: "kes-addr", Value: "127.0.0.1:7373", EnvVars: []string{"KMSBOX_KES_ADDR"}},
			&cli.StringFlag{Name: "s3-addr", Value: "127.0.0.1:9000", EnvVars: []string{"KMSBOX_S3_ADDR"}},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "give up after this long"},
		},
		Action: func(c *cli.Context) error {
			ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
			defer cancel()
			err := appliance.Health(ctx, appliance.HealthConfig{
				DataDir:   c.String("data-dir"),
				VaultAddr: c.String("vault-addr"),
				KESAddr:   c.String("kes-addr"),
				S3Addr:    c.String("s3-addr"),
			})
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			fmt.Fprintln(c.App.Writer, "ok")
			return nil
		},
	}
}

func envCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "print the shell exports written by 'kmsbox server --dev'",
		UsageText: "eval \"$(kmsbox env)\"",
		Flags:     []cli.Flag{dataDirFlag},
		Action: func(c *cli.Context) error {
			b, err := os.ReadFile(appliance.EnvFile(c.String("data-dir")))
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no env file in %s: start 'kmsbox server --dev' first", c.String("data-dir"))
			}
			if err != nil {
				return err
			}
			_, err = c.App.Writer.Write(b)
			return err
		},
	}
}

func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "certificates of the local CA",
		Subcommands: []*cli.Command{{
			Name:  "ca",
			Usage: "print the CA certificate (PEM) that clients should trust",
			Flags: []cli.Flag{dataDirFlag},
			Action: func(c *cli.Context) error {
				b, err := os.ReadFile(filepath.Join(c.String("data-dir"), "certs", "ca.crt"))
				if errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("no CA in %s yet: start 'kmsbox server' once", c.String("data-dir"))
				}
				if err != nil {
					return err
				}
				_, err = c.App.Writer.Write(b)
				return err
			},
		}},
	}
}

func identityCommand() *cli.Command {
	return &cli.Command{
		Name:  "identity",
		Usage: "KES client identities",
		Subcommands: []*cli.Command{
			{
				Name:      "new",
				Usage:     "make a self-signed client certificate and print its identity",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "key", Value: "private.key", Usage: "where to write the private key"},
					&cli.StringFlag{Name: "cert", Value: "public.crt", Usage: "where to write the certificate"},
					&cli.DurationFlag{Name: "time", Aliases: []string{"expiry"}, Value: 720 * time.Hour, Usage: "validity"},
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "overwrite existing files"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("identity new: want exactly one NAME", 2)
					}
					certPEM, keyPEM, err := certs.NewIdentity(c.Args().First(), c.Duration("time"))
					if err != nil {
						return err
					}
					if !c.Bool("force") {
						for _, f := range []string{c.String("key"), c.String("cert")} {
							if _, err := os.Lstat(f); err == nil {
								return fmt.Errorf("%s exists (use --force to overwrite)", f)
							}
						}
					}
					if err := writeNew(c.String("key"), keyPEM, 0o600, c.Bool("force")); err != nil {
						return err
					}
					if err := writeNew(c.String("cert"), certPEM, 0o644, c.Bool("force")); err != nil {
						os.Remove(c.String("key")) // never leave half an identity behind
						return err
					}
					id, err := certs.IdentityOfPEM(certPEM)
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, id)
					return nil
				},
			},
			{
				Name:      "of",
				Usage:     "print the KES identity of a certificate",
				ArgsUsage: "CERT",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("identity of: want exactly one CERT file", 2)
					}
					b, err := os.ReadFile(c.Args().First())
					if err != nil {
						return err
					}
					id, err := certs.IdentityOfPEM(b)
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, id)
					return nil
				},
			},
		},
	}
}

// writeNew writes b to name with mode perm, refusing to overwrite unless force.
func writeNew(name string, b []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(name, flags, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists (use --force to overwrite)", name)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keyCommand is the guide's `kes key ...` on kmsbox's own KES client.
func keyCommand() *cli.Command {
	// The identity and server come from the environment of every KES era; an empty variable
	// counts as unset (so the flags take no EnvVars: urfave/cli would let an empty one win).
	conn := []cli.Flag{
		&cli.StringFlag{Name: "server", Usage: "KES server URL(s), comma-separated (env MINIO_KES_SERVER, KES_SERVER; default https://127.0.0.1:7373)"},
		&cli.StringFlag{Name: "cert", Usage: "client certificate, the identity (env MINIO_KES_CERT_FILE, KES_CLIENT_CERT, KES_CLIENT_TLS_CERT_FILE)"},
		&cli.StringFlag{Name: "key", Usage: "client private key (env MINIO_KES_KEY_FILE, KES_CLIENT_KEY, KES_CLIENT_TLS_KEY_FILE)"},
		&cli.StringFlag{Name: "ca", Usage: "CA certificate file or directory that verifies the server (env KMSBOX_KES_CA, MINIO_KMS_KES_CAPATH; default: system roots)"},
		&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "skip verification of the server certificate"},
	}
	sub := func(name, usage, args string, minArgs, maxArgs int, run func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error, aliases ...string) *cli.Command {
		return &cli.Command{
			Name: name, Aliases: aliases, Usage: usage, ArgsUsage: args, Flags: conn,
			Action: func(c *cli.Context) error {
				if c.NArg() < minArgs || c.NArg() > maxArgs {
					return cli.Exit(fmt.Sprintf("key %s: usage: kmsbox key %s %s", name, name, args), 2)
				}
				kes, err := newKESClient(c)
				if err != nil {
					return err
				}
				return run(c.Context, c, kes)
			},
		}
	}
	printJSON := func(w io.Writer, v any) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return &cli.Command{
		Name:  "key",
		Usage: "manage KES keys (as the guide's `kes key ...`)",
		Subcommands: []*cli.Command{
			sub("create", "create a new master key", "NAME", 1, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				return kes.CreateKey(ctx, c.Args().First())
			}),
			sub("import", "import a base64 256-bit key", "NAME KEY", 2, 2, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				key, err := base64.StdEncoding.DecodeString(c.Args().Get(1))
				if err != nil {
					return fmt.Errorf("KEY is not base64: %v", err)
				}
				return kes.ImportKey(ctx, c.Args().First(), key, "AES256")
			}),
			sub("describe", "describe a key", "NAME", 1, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				info, err := kes.DescribeKey(ctx, c.Args().First())
				if err != nil {
					return err
				}
				return printJSON(c.App.Writer, map[string]any{"name": info.Name, "algorithm": info.Algorithm, "created_at": info.CreatedAt, "created_by": info.CreatedBy})
			}, "info"),
			sub("list", "list keys, optionally matching PATTERN (a prefix with a trailing *)", "[PATTERN]", 0, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				names, err := kes.ListKeys(ctx, strings.TrimSuffix(c.Args().First(), "*"))
				for _, n := range names {
					fmt.Fprintln(c.App.Writer, n)
				}
				return err
			}, "ls"),
			sub("delete", "delete a key", "NAME", 1, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				return kes.DeleteKey(ctx, c.Args().First())
			}, "rm"),
			sub("generate", "generate a data key, with an optional base64 CONTEXT", "NAME [CONTEXT]", 1, 2, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				assoc, err := base64.StdEncoding.DecodeString(c.Args().Get(1))
				if err != nil {
					return fmt.Errorf("CONTEXT is not base64: %v", err)
				}
				pt, ct, err := kes.GenerateKey(ctx, c.Args().First(), assoc)
				if err != nil {
					return err
				}
				return printJSON(c.App.Writer, map[string][]byte{"plaintext": pt, "ciphertext": ct})
			}),
			sub("decrypt", "decrypt a base64 CIPHERTEXT, with an optional base64 CONTEXT", "NAME CIPHERTEXT [CONTEXT]", 2, 3, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				ct, err := base64.StdEncoding.DecodeString(c.Args().Get(1))
				if err != nil {
					return fmt.Errorf("CIPHERTEXT is not base64: %v", err)
				}
				assoc, err := base64.StdEncoding.DecodeString(c.Args().Get(2))
				if err != nil {
					return fmt.Errorf("CONTEXT is not base64: %v", err)
				}
				pt, err := kes.Decrypt(ctx, c.Args().First(), ct, assoc)
				if err != nil {
					return err
				}
				return printJSON(c.App.Writer, map[string][]byte{"plaintext": pt})
			}),
		},
	}
}

func newKESClient(c *cli.Context) (*kesclient.Client, error) {
	or := func(flag string, env ...string) string {
		if v := c.String(flag); v != "" {
			return v
		}
		return firstEnv(env...)
	}
	server := or("server", "MINIO_KES_SERVER", "KES_SERVER")
	if server == "" {
		server = kesclient.DefaultEndpoint
	}
	cert := or("cert", "MINIO_KES_CERT_FILE", "KES_CLIENT_CERT", "KES_CLIENT_TLS_CERT_FILE")
	key := or("key", "MINIO_KES_KEY_FILE", "KES_CLIENT_KEY", "KES_CLIENT_TLS_KEY_FILE")
	if cert == "" || key == "" {
		return nil, errors.New("no client identity: set KES_CLIENT_CERT and KES_CLIENT_KEY (or --cert and --key)")
	}
	tlsConfig, err := kesclient.TLSConfig(cert, key, or("ca", "KMSBOX_KES_CA", "MINIO_KMS_KES_CAPATH"), c.Bool("insecure"))
	if err != nil {
		return nil, err
	}
	return kesclient.New(kesclient.Config{Endpoints: kesclient.ParseEndpoints(server), TLS: tlsConfig})
}
