package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/certs"
	"github.com/kmsbox/kmsbox/internal/atomicfile"
)

// identityCommand is `kmsbox identity new|of`, the guide's `kes identity` commands.
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

// writeNew writes b to name with mode perm, refusing to overwrite unless force. An
// overwrite goes through atomicfile, so the file ends up with perm even when the old one
// had a wider mode (O_TRUNC would keep it), and is never left half written.
func writeNew(name string, b []byte, perm os.FileMode, force bool) error {
	if force {
		return atomicfile.WriteFile(name, b, perm)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
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
