package wal

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt is matched (errors.Is) by every error that reports damage
	// the WAL will not repair: a *CorruptError, or a snapshot file that is
	// damaged when no older one can replace it.
	ErrCorrupt = errors.New("wal: damaged data")
	// ErrExist is returned by Create when the directory already holds a WAL.
	ErrExist = errors.New("wal: a WAL already exists")
	// ErrLocked is returned when another process (or another WAL value in
	// this process) holds the directory's lock.
	ErrLocked = errors.New("wal: directory is locked")
	// ErrSnapshotNotFound is returned by Open and ReadAll when the WAL holds
	// no snapshot marker for the requested snapshot, so it cannot replay
	// from there.
	ErrSnapshotNotFound = errors.New("wal: snapshot marker not found")
	// ErrSnapshotMismatch is returned by ReadAll when the log cannot be
	// replayed from the requested snapshot: the marker's term differs, or
	// raft replaced its log with a later snapshot in between.
	ErrSnapshotMismatch = errors.New("wal: log does not match the snapshot")
	// ErrClosed is returned by a WAL method called after Close, or after an
	// earlier write or fsync failed (the WAL then refuses all writes).
	ErrClosed = errors.New("wal: closed")
	// ErrNoSnapshot is returned by the Snapshotter's loaders when there is
	// no snapshot file to use.
	ErrNoSnapshot = errors.New("wal: no snapshot")
)

// CorruptError reports damage at a byte offset of a file. Its message has the
// form "wal: crc mismatch in /data/member/wal/0000000000000000-0000000000000000.wal at offset 8192".
type CorruptError struct {
	File   string // path of the damaged file
	Offset int64  // offset of the first damaged record (or byte)
	Reason string // what is wrong, for example "crc mismatch"
	Err    error  // the underlying decoding error, if any
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("wal: %s in %s at offset %d", e.Reason, e.File, e.Offset)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrCorrupt) true for every *CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the underlying decoding error, if any.
func (e *CorruptError) Unwrap() error { return e.Err }
