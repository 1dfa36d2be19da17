//go:build linux

package wal

import (
	"errors"
	"os"
	"syscall"
)

// fdatasync flushes f's data, and the metadata needed to read it back, to
// stable storage.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("fdatasync", serr)
	}
	return nil
}

// fallocate allocates [from, size) of f on disk and extends f to size. The
// new range reads as zeros. It returns errNoFallocate where the file system
// cannot do this, and preallocate then writes zeros.
func fallocate(f *os.File, from, size int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fallocate(int(fd), 0, from, size-from)
			if serr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if errors.Is(serr, syscall.EOPNOTSUPP) || errors.Is(serr, syscall.ENOSYS) {
		return errNoFallocate
	}
	if serr != nil {
		return os.NewSyscallError("fallocate", serr)
	}
	return nil
}
