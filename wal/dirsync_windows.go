//go:build windows

package wal

// syncDir does nothing on Windows: a directory cannot be opened for
// flushing there, and NTFS journals its metadata (file creation, renaming
// and removal) itself.
func syncDir(dir string) error { return nil }
