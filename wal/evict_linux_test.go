//go:build linux

package wal

import (
	"os"
	"syscall"
)

// evictFromCache asks the kernel to drop the file at path from the page
// cache (posix_fadvise POSIX_FADV_DONTNEED), so a benchmark reads it from
// the disk. It touches only this file, never the whole machine's cache.
func evictFromCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	const fadvDontNeed = 4
	_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

const canEvict = true
