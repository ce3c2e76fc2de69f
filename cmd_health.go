package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
)

// healthCommand is `kmsbox health`, the container health check: it exits with code 1 and
// the reason when an enabled server is not ready.
func healthCommand() *cli.Command {
	return &cli.Command{
		Name:  "health",
		Usage: "exit 0 when every enabled server answers ready (for a Docker HEALTHCHECK)",
		Flags: []cli.Flag{
			dataDirFlag(),
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
