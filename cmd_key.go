package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// keyCommand is the guide's `kes key ...` on kmsbox's own KES client.
func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "manage KES keys (as the guide's `kes key ...`)",
		Subcommands: []*cli.Command{
			keySubcommand("create", "create a new master key", "NAME", 1, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				return kes.CreateKey(ctx, c.Args().First())
			}),
			keySubcommand("import", "import a base64 256-bit key", "NAME KEY", 2, 2, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				key, err := base64.StdEncoding.DecodeString(c.Args().Get(1))
				if err != nil {
					return fmt.Errorf("KEY is not base64: %v", err)
				}
				return kes.ImportKey(ctx, c.Args().First(), key, "AES256")
			}),
			keySubcommand("describe", "describe a key", "NAME", 1, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				info, err := kes.DescribeKey(ctx, c.Args().First())
				if err != nil {
					return err
				}
				return writeJSON(c.App.Writer, map[string]any{"name": info.Name, "algorithm": info.Algorithm, "created_at": info.CreatedAt, "created_by": info.CreatedBy})
			}, "info"),
			keySubcommand("list", "list keys, optionally matching PATTERN (a prefix with a trailing *)", "[PATTERN]", 0, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				names, err := kes.ListKeys(ctx, strings.TrimSuffix(c.Args().First(), "*"))
				for _, n := range names {
					fmt.Fprintln(c.App.Writer, n)
				}
				return err
			}, "ls"),
			keySubcommand("delete", "delete a key", "NAME", 1, 1, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				return kes.DeleteKey(ctx, c.Args().First())
			}, "rm"),
			keySubcommand("generate", "generate a data key, with an optional base64 CONTEXT", "NAME [CONTEXT]", 1, 2, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
				assoc, err := base64.StdEncoding.DecodeString(c.Args().Get(1))
				if err != nil {
					return fmt.Errorf("CONTEXT is not base64: %v", err)
				}
				pt, ct, err := kes.GenerateKey(ctx, c.Args().First(), assoc)
				if err != nil {
					return err
				}
				return writeJSON(c.App.Writer, map[string][]byte{"plaintext": pt, "ciphertext": ct})
			}),
			keySubcommand("decrypt", "decrypt a base64 CIPHERTEXT, with an optional base64 CONTEXT", "NAME CIPHERTEXT [CONTEXT]", 2, 3, func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error {
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
				return writeJSON(c.App.Writer, map[string][]byte{"plaintext": pt})
			}),
		},
	}
}

// keyConnFlags are the flags of every `kmsbox key` subcommand: which KES server, with which
// identity. It returns new flags on each call, since urfave/cli writes into a flag while
// parsing. The identity and server come from the environment of every KES era; an empty
// variable counts as unset (so the flags take no EnvVars: urfave/cli would let an empty one
// win, and newKESClient reads the variables instead).
func keyConnFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Usage: "KES server URL(s), comma-separated (env MINIO_KES_SERVER, KES_SERVER; default https://127.0.0.1:7373)"},
		&cli.StringFlag{Name: "cert", Usage: "client certificate, the identity (env MINIO_KES_CERT_FILE, KES_CLIENT_CERT, KES_CLIENT_TLS_CERT_FILE)"},
		&cli.StringFlag{Name: "key", Usage: "client private key (env MINIO_KES_KEY_FILE, KES_CLIENT_KEY, KES_CLIENT_TLS_KEY_FILE)"},
		&cli.StringFlag{Name: "ca", Usage: "CA certificate file or directory that verifies the server (env KMSBOX_KES_CA, MINIO_KMS_KES_CAPATH; default: system roots)"},
		&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "skip verification of the server certificate"},
	}
}

// keyAction is the work of one `kmsbox key` subcommand, with a client built from the flags.
type keyAction func(ctx context.Context, c *cli.Context, kes *kesclient.Client) error

// keySubcommand builds `kmsbox key NAME` with the connection flags; it checks that it got
// between minArgs and maxArgs positional arguments (described by args) before run.
func keySubcommand(name, usage, args string, minArgs, maxArgs int, run keyAction, aliases ...string) *cli.Command {
	return &cli.Command{
		Name: name, Aliases: aliases, Usage: usage, ArgsUsage: args, Flags: keyConnFlags(),
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

// writeJSON writes v to w as indented JSON, the output of the key subcommands.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newKESClient builds the KES client of a `kmsbox key` subcommand from its flags, or else
// the environment variables named in their usage.
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
