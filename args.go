package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst moves the flags of the command named by args in front of its positional
// arguments, so that the guide's word order works: `kes key create minio-key-1 -k` and
// `kes identity new NAME --key F --cert F`. A "--" ends the flags as usual.
//
// urfave/cli v2 has no option for this: it hands a command's arguments to the standard
// library's flag.FlagSet.Parse, which stops at the first positional argument, and none of
// the App or Command settings of v2.27.7 (SkipFlagParsing, UseShortOptionHandling,
// AllowExtFlags, Args, Suggest) changes that; v1's reordering (and its SkipArgReorder) was
// dropped in v2 (urfave/cli#398, the request to bring it back is urfave/cli#976). v3 parses
// flags after positional arguments by itself (Command.StopOnNthArg turns it off again), so
// this function goes away with a move to v3.
func flagsFirst(cmds []*cli.Command, args []string) []string {
	if len(args) < 2 {
		return args
	}
	i := 1
	var cmd *cli.Command
	for i < len(args) {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds, i = next, next.Subcommands, i+1
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	out := append([]string{}, args[:i]...)
	var positional []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || a == "-" || name == "" {
			positional = append(positional, a)
			continue
		}
		out = append(out, a)
		if n, _, hasValue := strings.Cut(name, "="); !hasValue && takesValue[n] && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return append(out, positional...)
}

// findCommand returns the command of cmds called name (or an alias), or nil.
func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
