package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
)

// envCommand is `kmsbox env`: the env file that `kmsbox server --dev` wrote.
func envCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "print the shell exports written by 'kmsbox server --dev'",
		UsageText: "eval \"$(kmsbox env)\"",
		Flags:     []cli.Flag{dataDirFlag()},
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
