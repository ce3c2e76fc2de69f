package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
)

// resetCommand is `kmsbox reset`: a running --dev kmsbox back to its start state, through
// POST /kmsbox/v1/reset on its Vault port with the env file's root token.
func resetCommand() *cli.Command {
	return &cli.Command{
		Name:  "reset",
		Usage: "bring a running 'kmsbox server --dev' back to its start state (for integration tests)",
		Description: `Every secret, key, bucket and object made since the start is gone; the CA, certificates,
client identities, root token and S3 credentials stay, and no listener closes. The server
must run with --dev; the root token and Vault address come from the env file (see selftest).`,
		Flags: clientFlags(30 * time.Second),
		Action: func(c *cli.Context) error {
			env, err := clientEnv(c)
			if err != nil {
				return err
			}
			if env["VAULT_ADDR"] == "" || env["VAULT_TOKEN"] == "" {
				return errors.New("reset: VAULT_ADDR and VAULT_TOKEN are required (the reset endpoint is on the Vault port)")
			}
			ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
			defer cancel()
			start := time.Now()
			if err := appliance.RemoteReset(ctx, env["VAULT_ADDR"], env["VAULT_TOKEN"], env["VAULT_CACERT"]); err != nil {
				return fmt.Errorf("reset: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "reset in %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}
