//go:build !linux

package wal

import "os"

// fdatasync flushes f to stable storage. Outside Linux the standard
// library's Sync is used: on macOS it issues F_FULLFSYNC, which also
// flushes the disk's write cache; on Windows FlushFileBuffers.
func fdatasync(f *os.File) error { return f.Sync() }

// fallocate is not used outside Linux: preallocate writes zeros instead,
// which allocates the space just as well, only more slowly.
func fallocate(f *os.File, from, size int64) error { return errNoFallocate }
