package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
	"github.com/kmsbox/kmsbox/embeddedvault"
)

// errInUse is what check says when a server holds the data dir's store files.
const errInUse = "the data dir is in use by a running kmsbox"

// checkCommand is `kmsbox check [--repair]`: an offline check of a stopped server's data
// dir. It verifies both bbolt files, every vault entry against the barrier (with the dev
// unseal file or --unseal-key shares; without either, the structure only, and it says so)
// and the object store, and reports orphans. --repair removes orphans and moves damaged
// records aside; it never deletes an object body a record references. It exits 0 only when
// all is well.
func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "verify a stopped server's data dir offline (exit 0 when all is well)",
		Flags: []cli.Flag{
			dataDirFlag(),
			&cli.BoolFlag{Name: "repair", Usage: "remove orphans and move damaged records aside"},
			&cli.StringSliceFlag{Name: "unseal-key", Usage: "a base64 unseal key share (repeat up to the threshold); without one and without the dev unseal file only the vault's structure is checked"},
		},
		Action: func(c *cli.Context) error {
			dir := c.String("data-dir")
			repair := c.Bool("repair")
			shares, err := checkShares(dir, c.StringSlice("unseal-key"))
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			defer func() {
				for _, s := range shares {
					clear(s)
				}
			}()
			out := c.App.Writer
			vrep, err := embeddedvault.Check(c.Context, appliance.VaultFile(dir), shares, repair)
			if err != nil {
				return checkFailed(err)
			}
			ok := report(out, "vault", vrep.Problems, vrep.Repaired, vrep.Notes)
			// The object store's key is unsealed through the vault only when the vault checked
			// clean and nothing was repaired there: opening a damaged vault as a server could
			// write over what the check found.
			useVault := len(vrep.Problems) == 0 && len(vrep.Repaired) == 0
			sOK, lines, err := checkS3(c.Context, dir, repair, useVault)
			if err != nil {
				return checkFailed(err)
			}
			fmt.Fprintf(out, "s3: %s\n", map[bool]string{true: "ok", false: "PROBLEMS"}[sOK])
			for _, l := range lines {
				fmt.Fprintf(out, "  %s\n", l)
			}
			if !ok || !sOK {
				return cli.Exit("check found problems", 1)
			}
			fmt.Fprintln(out, "ok")
			return nil
		},
	}
}

// checkShares returns the unseal key shares: the --unseal-key values, else the dev unseal
// file's key if the data dir has one, else none.
func checkShares(dir string, flags []string) ([][]byte, error) {
	var shares [][]byte
	for _, f := range flags {
		s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--unseal-key: not base64: %w", err)
		}
		shares = append(shares, s)
	}
	if len(shares) > 0 {
		return shares, nil
	}
	key, err := embeddedvault.DevUnsealKey(appliance.DevUnsealFile(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return [][]byte{key}, nil
}

// checkFailed is the exit of a check that could not run.
func checkFailed(err error) error {
	if errors.Is(err, embeddedvault.ErrInUse) || errors.Is(err, errS3InUse) {
		return cli.Exit(errInUse, 2)
	}
	return cli.Exit(err.Error(), 2)
}

// report prints one store's findings and reports whether it is all well.
func report(w io.Writer, name string, problems, repaired, notes []string) bool {
	state := "ok"
	if len(problems) > 0 {
		state = "PROBLEMS"
	}
	fmt.Fprintf(w, "%s: %s\n", name, state)
	for _, p := range problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	for _, r := range repaired {
		fmt.Fprintf(w, "  repaired: %s\n", r)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return len(problems) == 0
}
