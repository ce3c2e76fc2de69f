package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
)

// selftestCommand is `kmsbox selftest`: the whole chain checked against a running kmsbox, as
// a client sees it; exit 0 only when every check passed.
func selftestCommand() *cli.Command {
	return &cli.Command{
		Name:  "selftest",
		Usage: "check a running kmsbox end to end (Vault, Transit, KES, S3 with SSE) with the env file's credentials",
		Description: `Reads the client settings from the env file that 'kmsbox server --dev' wrote (or the file
--env-file names), or, for what the file lacks or without a file, from the environment
(VAULT_ADDR, VAULT_TOKEN, KES_SERVER, AWS_ENDPOINT_URL, ...). --host replaces the
host of every URL, for a client in another container (the name must be a --san of the server).
Prints one line per check and exits 0 only when all passed.`,
		Flags: clientFlags(30 * time.Second),
		Action: func(c *cli.Context) error {
			env, err := clientEnv(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
			defer cancel()
			kesCA := firstOf(env["MINIO_KMS_KES_CAPATH"], env["VAULT_CACERT"])
			checks := appliance.Selftest(ctx, appliance.SelftestConfig{
				VaultAddr: env["VAULT_ADDR"], VaultToken: env["VAULT_TOKEN"], VaultCACert: env["VAULT_CACERT"],
				TransitMount: env["VAULT_TRANSIT_MOUNT"], TransitKey: env["VAULT_TRANSIT_KEY"],
				KESServer: env["KES_SERVER"], KESCert: env["KES_CLIENT_CERT"], KESKey: env["KES_CLIENT_KEY"], KESCA: kesCA,
				S3Endpoint: env["AWS_ENDPOINT_URL"], S3CA: env["AWS_CA_BUNDLE"], AccessKey: env["AWS_ACCESS_KEY_ID"],
				SecretKey: env["AWS_SECRET_ACCESS_KEY"], Region: env["AWS_REGION"],
			})
			failed := 0
			for _, ch := range checks {
				if ch.Err != nil {
					failed++
					fmt.Fprintf(c.App.Writer, "FAIL  %s: %v\n", ch.Name, ch.Err)
				} else {
					fmt.Fprintf(c.App.Writer, "ok    %s\n", ch.Name)
				}
			}
			if failed > 0 {
				return cli.Exit(fmt.Sprintf("selftest: %d of %d checks failed", failed, len(checks)), 1)
			}
			fmt.Fprintf(c.App.Writer, "selftest: all %d checks passed\n", len(checks))
			return nil
		},
	}
}

// clientFlags are the flags of the commands that act as a client of a running kmsbox with
// the env file's settings.
func clientFlags(timeout time.Duration) []cli.Flag {
	return []cli.Flag{
		dataDirFlag(),
		&cli.StringFlag{Name: "env-file", Usage: "the env file to read (default <data-dir>/kmsbox.env)", EnvVars: []string{"KMSBOX_ENV_FILE"}},
		hostFlag(),
		&cli.DurationFlag{Name: "timeout", Value: timeout, Usage: "give up after this long"},
	}
}

// clientVars are the variables of the env file a client command reads; the environment
// supplies the ones the file lacks.
var clientVars = []string{
	"VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN", "VAULT_TRANSIT_MOUNT", "VAULT_TRANSIT_KEY",
	"KES_SERVER", "KES_CLIENT_CERT", "KES_CLIENT_KEY",
	"AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
	"MINIO_KMS_KES_CAPATH",
}

// clientEnv returns the client settings: the env file (--env-file, else the data dir's, which
// may be missing when the environment has the variables), what it lacks from the
// environment, then --host. The file wins: it is what the server wrote, while a variable
// such as AWS_CA_BUNDLE may be set machine-wide for something else.
func clientEnv(c *cli.Context) (map[string]string, error) {
	name := c.String("env-file")
	if name == "" {
		name = appliance.EnvFile(c.String("data-dir"))
	}
	var vars []envVar
	raw, err := os.ReadFile(name)
	switch {
	case err == nil:
		if vars, err = parseEnvFile(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	case errors.Is(err, os.ErrNotExist) && c.String("env-file") == "" && os.Getenv("VAULT_ADDR") != "":
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("no env file %s: start 'kmsbox server --dev' first, or pass --env-file or set the variables", name)
	default:
		return nil, err
	}
	have := map[string]bool{}
	for _, v := range vars {
		have[v.name] = true
	}
	for _, n := range clientVars {
		if v := os.Getenv(n); v != "" && !have[n] {
			vars = append(vars, envVar{n, v})
		}
	}
	if h := c.String("host"); h != "" {
		vars = withHost(vars, h)
	}
	env := map[string]string{}
	for _, v := range vars {
		env[v.name] = v.value
	}
	return env, nil
}

// firstOf returns the first of values that is not empty.
func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
