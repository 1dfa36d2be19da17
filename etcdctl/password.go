package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// readPassword writes prompt to out and reads one line from in, with echo
// turned off when in is a terminal; then it ends the prompt's line. When
// in is not a terminal (a pipe, a file) the line is read as it is. Ctrl-C
// while echo is off turns echo back on before the process ends.
func readPassword(in *os.File, out io.Writer, prompt string) (string, error) {
	fmt.Fprint(out, prompt)
	if isTerminal(in) {
		restore, err := disableEcho(in)
		if err != nil {
			return "", fmt.Errorf("etcdctl: cannot read the password: %w; give it as --username user:password", err)
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		done := make(chan struct{})
		go func() {
			select {
			case <-sig:
				restore()
				fmt.Fprintln(out)
				os.Exit(130) // the exit status of a process ended by SIGINT
			case <-done:
			}
		}()
		defer func() {
			signal.Stop(sig)
			close(done)
			restore()
		}()
	}
	line, err := readLine(in)
	fmt.Fprintln(out)
	return line, err
}

// readLine reads up to and without the next newline (and a carriage return
// before it). It reads one byte at a time so that nothing after the line is
// taken from in: the value of set may follow the password on stdin.
func readLine(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("etcdctl: reading the password: %w", err)
		}
	}
	return strings.TrimSuffix(string(line), "\r"), nil
}
