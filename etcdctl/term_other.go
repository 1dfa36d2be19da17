//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly && !windows

package main

import (
	"errors"
	"os"
	"runtime"
)

// isTerminal reports whether f looks like a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// disableEcho is not available on this system.
func disableEcho(f *os.File) (restore func(), err error) {
	return nil, errors.New("turning off the echo of a terminal is not supported on " + runtime.GOOS)
}
