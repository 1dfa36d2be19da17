//go:build windows

package wal

import (
	"errors"
	"os"
	"syscall"
)

// errLockHeld says another holder has the lock.
var errLockHeld = errors.New("lock held")

// errorSharingViolation is Windows' ERROR_SHARING_VIOLATION.
const errorSharingViolation syscall.Errno = 32

// lockFile opens (creating if needed) the file at path with no sharing
// allowed: while the handle is open, any other attempt to open the file,
// from this or another process, fails with a sharing violation. Windows
// closes the handle when the process exits, however it exits.
func lockFile(path string) (*os.File, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if errors.Is(err, errorSharingViolation) {
		return nil, errLockHeld
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
