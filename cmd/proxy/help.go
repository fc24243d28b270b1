package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
)

// help serves `proxy help [COMMAND [SUBCOMMAND]]`.
func (c *cli) help(args []string) error {
	if len(args) == 0 {
		c.commandList()
		return nil
	}
	if isHelpFlag(args[0]) {
		args[0] = "help"
	}
	cmd := lookup(commands, args[0])
	if cmd == nil {
		return usageError(nil, "help: unknown command %q", args[0])
	}
	args = args[1:]
	if len(cmd.subs) > 0 && len(args) > 0 {
		sub := lookup(cmd.subs, args[0])
		if sub == nil {
			return usageError(cmd, "unknown subcommand %q (%s)", args[0], cmd.subNames())
		}
		cmd, args = sub, args[1:]
	}
	if len(args) > 0 {
		return usageError(lookup(commands, "help"), "unexpected argument %q", args[0])
	}
	c.commandHelp(cmd)
	return nil
}

// commandList prints every command on one line.
func (c *cli) commandList() {
	fmt.Fprint(c.stdout, `Proxy serves Meta's WhatsApp Cloud API in front of Gupshup.

Usage:

	proxy <command> [flags]

The commands are:

`)
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	for _, cmd := range commands {
		if len(cmd.subs) == 0 {
			fmt.Fprintf(tw, "\t%s\t%s\n", cmd.name, cmd.short)
		}
		for _, sub := range cmd.subs {
			fmt.Fprintf(tw, "\t%s\t%s\n", sub.name, sub.short)
		}
	}
	_ = tw.Flush()
	fmt.Fprint(c.stdout, `
Use "proxy help <command>" for more information about a command.
`)
}

// commandHelp prints one command's usage line, description and flags.
func (c *cli) commandHelp(cmd *command) {
	fmt.Fprintf(c.stdout, "usage: %s\n\n%s\n", cmd.usageLine(), cmd.long)
	if len(cmd.subs) > 0 {
		fmt.Fprint(c.stdout, "\nThe subcommands are:\n\n")
		tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
		for _, sub := range cmd.subs {
			fmt.Fprintf(tw, "\t%s\t%s\n", strings.TrimPrefix(sub.name, cmd.name+" "), sub.short)
		}
		_ = tw.Flush()
		fmt.Fprintf(c.stdout, "\nUse \"proxy help %s <subcommand>\" for its flags.\n", cmd.name)
		return
	}
	if cmd.setup == nil {
		return
	}
	fs := flag.NewFlagSet("proxy "+cmd.name, flag.ContinueOnError)
	cmd.setup(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(c.stdout, "\nFlags:\n")
	fs.SetOutput(c.stdout)
	fs.PrintDefaults()
}
