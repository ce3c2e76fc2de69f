package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

// certCommand is `kmsbox cert ca`: the local CA that clients trust.
func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "certificates of the local CA",
		Subcommands: []*cli.Command{{
			Name:  "ca",
			Usage: "print the CA certificate (PEM) that clients should trust",
			Flags: []cli.Flag{dataDirFlag()},
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
