//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package wal

import (
	"errors"
	"os"
	"runtime"
)

// errLockHeld says another holder has the lock.
var errLockHeld = errors.New("lock held")

// lockFile refuses: without a file lock two processes could write one WAL,
// and this platform offers none the package knows how to use.
func lockFile(path string) (*os.File, error) {
	return nil, errors.New("file locking is not supported on " + runtime.GOOS)
}
