//go:build !windows

package wal

import "os"

// syncDir fsyncs the directory dir, making the creation, renaming and
// removal of the files in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
