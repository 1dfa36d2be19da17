//go:build windows

package main

import (
	"os"
	"syscall"
)

// enableEchoInput is the console mode bit that echoes typed characters.
const enableEchoInput = 0x0004

// isTerminal reports whether f is a console.
func isTerminal(f *os.File) bool {
	var mode uint32
	return syscall.GetConsoleMode(syscall.Handle(f.Fd()), &mode) == nil
}

// disableEcho turns off the echo of console f and returns the function
// that puts the old mode back.
func disableEcho(f *os.File) (restore func(), err error) {
	h := syscall.Handle(f.Fd())
	var old uint32
	if err := syscall.GetConsoleMode(h, &old); err != nil {
		return nil, err
	}
	if err := setConsoleMode(h, old&^enableEchoInput); err != nil {
		return nil, err
	}
	return func() { setConsoleMode(h, old) }, nil
}

// setConsoleMode calls kernel32's SetConsoleMode, which package syscall
// does not wrap.
func setConsoleMode(h syscall.Handle, mode uint32) error {
	proc := syscall.NewLazyDLL("kernel32.dll").NewProc("SetConsoleMode")
	if r, _, err := proc.Call(uintptr(h), uintptr(mode)); r == 0 {
		return err
	}
	return nil
}
