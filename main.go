// Command kmsbox runs the whole encrypted object-storage stack of MinIO's KMS guide in one
// process: a Vault-compatible sealed store on :8200, a KES-compatible key server on :7373 and
// an S3 server with auto-encryption on :9000.
//
// The package is the command line: main.go builds the app and its command list, and each
// cmd_*.go file builds one command, reads its flags, environment variables and config files
// and hands them to package appliance (as one Config for the server).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

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

// dataDirFlag is the --data-dir of every command that reads the data dir. It returns a new
// flag on each call: urfave/cli writes into a flag while parsing (HasBeenSet, the value from
// its environment variable), so no two commands or apps may share one.
func dataDirFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "data-dir",
		Usage:   "directory for certificates, the sealed store, objects and the env file",
		Value:   "./kmsbox-data",
		EnvVars: []string{"KMSBOX_DATA_DIR"},
	}
}

// newApp builds the command line, writing output to stdout and messages to stderr.
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
			checkCommand(),
			envCommand(),
			certCommand(),
			identityCommand(),
			keyCommand(),
			resetCommand(),
			selftestCommand(),
			versionCommand(),
		},
	}
}

// firstEnv returns the value of the first of the environment variables names that is set
// and not empty.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
