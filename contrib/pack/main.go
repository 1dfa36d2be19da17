package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

const usage = `usage:
  pack archive -o OUT -time UNIXSECONDS DIR   write DIR as OUT (.tar.gz or .zip)
  pack sums -o OUT FILE...                    write the SHA-256 of each FILE to OUT
`

// errUsage marks a command line that pack does not understand; run answers
// it with the usage text and exit code 2.
var errUsage = errors.New("pack: bad usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run runs pack with args (without the program name), writes any error to
// stderr and returns the exit code: 0, 1 for a failure, 2 for bad usage.
func run(args []string, stderr io.Writer) int {
	err := dispatch(args, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, err)
		fmt.Fprint(stderr, usage)
		return 2
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

// dispatch parses the subcommand and its flags and runs it.
func dispatch(args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no subcommand", errUsage)
	}
	fs := flag.NewFlagSet("pack "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "the file to write")
	switch args[0] {
	case "archive":
		unix := fs.Int64("time", -1, "the time of every entry, in Unix seconds")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		switch {
		case *out == "":
			return fmt.Errorf("%w: archive needs -o", errUsage)
		case *unix < 0:
			return fmt.Errorf("%w: archive needs -time", errUsage)
		case fs.NArg() != 1:
			return fmt.Errorf("%w: archive takes one directory, not %d arguments", errUsage, fs.NArg())
		}
		return writeArchive(*out, fs.Arg(0), time.Unix(*unix, 0).UTC())
	case "sums":
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if *out == "" {
			return fmt.Errorf("%w: sums needs -o", errUsage)
		}
		return writeSums(*out, fs.Args())
	default:
		return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
	}
}
