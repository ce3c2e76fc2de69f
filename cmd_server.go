package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
	"github.com/kmsbox/kmsbox/appliance/kesconf"
	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/appliance/vaultconf"
	"github.com/kmsbox/kmsbox/certs"
	"github.com/kmsbox/kmsbox/embeddedvault"
)

// serverCommand is `kmsbox server`: the whole appliance in the foreground until SIGINT or
// SIGTERM.
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
		Flags:  serverFlags(),
		Action: runServer,
	}
}

// serverFlags are the flags of `kmsbox server`; each has a KMSBOX_* environment variable.
func serverFlags() []cli.Flag {
	return []cli.Flag{
		dataDirFlag(),
		&cli.StringFlag{Name: "vault-addr", Value: "127.0.0.1:8200", Usage: "listen address of the Vault API (empty disables)", EnvVars: []string{"KMSBOX_VAULT_ADDR"}},
		&cli.StringFlag{Name: "kes-addr", Value: "127.0.0.1:7373", Usage: "listen address of the KES API (empty disables)", EnvVars: []string{"KMSBOX_KES_ADDR"}},
		&cli.StringFlag{Name: "s3-addr", Value: "127.0.0.1:9000", Usage: "listen address of the S3 API (empty disables)", EnvVars: []string{"KMSBOX_S3_ADDR"}},
		&cli.StringFlag{Name: "console-addr", Value: "127.0.0.1:9001", Usage: "listen address of the web console, login with the S3 credentials (empty disables)", EnvVars: []string{"KMSBOX_CONSOLE_ADDR"}},
		&cli.StringSliceFlag{Name: "san", Usage: "extra DNS name or IP for the server certificate (repeatable)", EnvVars: []string{"KMSBOX_SAN"}},
		&cli.BoolFlag{Name: "dev", Usage: "initialize, unseal and seed everything; write the env file", EnvVars: []string{"KMSBOX_DEV"}},
		&cli.StringFlag{Name: "dev-root-token", Usage: "fixed Vault root token ID in dev mode", EnvVars: []string{"KMSBOX_DEV_ROOT_TOKEN", "VAULT_DEV_ROOT_TOKEN_ID"}},
		&cli.StringFlag{Name: "seed", Usage: "YAML seed file applied in full before the servers report ready (needs --dev)", EnvVars: []string{"KMSBOX_SEED"}},
		&cli.StringFlag{Name: "deterministic", Usage: "TESTS ONLY: derive every dev secret from this `SEED`, so fresh starts agree (needs --dev)", EnvVars: []string{"KMSBOX_DETERMINISTIC"}},
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
	}
}

// runServer is the action of `kmsbox server`.
func runServer(c *cli.Context) error {
	log, err := newLogger(c.App.ErrWriter, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return err
	}
	if c.Bool("mlock") {
		if !mlockSupported {
			return errors.New("--mlock: locking memory is not supported on this system")
		}
		if err := lockMemory(); err != nil {
			return fmt.Errorf("--mlock: cannot lock memory: %v (run with CAP_IPC_LOCK or a higher RLIMIT_MEMLOCK, or drop --mlock)", err)
		}
	}
	cfg, err := serverConfig(c, log)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := startPprof(ctx, os.Getenv(pprofEnv), log); err != nil {
		return err
	}
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
	if name := c.String("seed"); name != "" {
		sd, err := seed.ReadFile(name, seed.Options{VaultPolicy: embeddedvault.ParsePolicy})
		if err != nil {
			return cfg, fmt.Errorf("--seed:\n%w", err)
		}
		cfg.Seed = sd
	}
	if d := c.String("deterministic"); d != "" {
		cfg.Deterministic = d
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

// newLogger makes the server's logger from --log-level and --log-format.
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
