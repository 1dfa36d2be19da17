//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"
	"syscall"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := getTermios(f.Fd())
	return err == nil
}

// disableEcho turns off the echo of terminal f, keeping line editing, and
// returns the function that puts the old settings back.
func disableEcho(f *os.File) (restore func(), err error) {
	fd := f.Fd()
	old, err := getTermios(fd)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Lflag &^= syscall.ECHO
	t.Lflag |= syscall.ICANON | syscall.ISIG
	t.Iflag |= syscall.ICRNL
	if err := setTermios(fd, &t); err != nil {
		return nil, err
	}
	return func() { setTermios(fd, old) }, nil
}
