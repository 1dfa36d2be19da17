package main

// V2ETCD_WAL_SYNC_LOG, a testing aid: a log of how far each WAL segment
// is durable, for the fault tests that cut a killed member's last segment
// at a point a power cut could leave (see e2e/faults_test.go).

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
)

// walSyncLogEnv names the environment variable that turns the log on: its
// value is the file to append to.
const walSyncLogEnv = "V2ETCD_WAL_SYNC_LOG"

// walSyncLog appends one line "<segment path> <offset>\n" for each fsync
// the WAL reports through wal.Options.OnSync: the segment is durable up to
// offset. The file is opened once, with O_APPEND, and each line is one
// plain write: a process killed with SIGKILL keeps what it wrote (it is in
// the page cache), so no fsync is needed for the tests that use it.
type walSyncLog struct {
	f   *os.File
	log *slog.Logger

	mu     sync.Mutex
	failed bool // a write failed; logged once
}

// openWALSyncLog opens the file named by V2ETCD_WAL_SYNC_LOG in environ
// (os.Environ's form) for appending, creating it if needed. It returns nil
// and no error when the variable is unset or empty.
func openWALSyncLog(environ []string, log *slog.Logger) (*walSyncLog, error) {
	path := ""
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == walSyncLogEnv {
			path = v
		}
	}
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("etcd: %s: %w", walSyncLogEnv, err)
	}
	return &walSyncLog{f: f, log: log}, nil
}

// record is the wal.Options.OnSync hook: it appends "<segment> <offset>".
// A failed write is logged (once) as an error: the tests that read the
// file then see a member whose log is incomplete in its output.
func (l *walSyncLog) record(segment string, offset int64) {
	line := segment + " " + strconv.FormatInt(offset, 10) + "\n"
	if _, err := l.f.WriteString(line); err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.failed {
			l.failed = true
			l.log.Error(fmt.Sprintf("etcd: %s: cannot record a WAL sync: %v", walSyncLogEnv, err))
		}
	}
}

// Close closes the file; a nil log is fine.
func (l *walSyncLog) Close() error {
	if l == nil {
		return nil
	}
	if err := l.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("etcd: %s: %w", walSyncLogEnv, err)
	}
	return nil
}
