package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"v2etcd/raft"
)

// FormatVersion is the on-disk format version recorded in every segment's
// metadata record. ReadAll refuses any other version.
const FormatVersion = 1

const (
	// DefaultSegmentSize is the size segments are preallocated to and cut at
	// when Options.SegmentSize is zero.
	DefaultSegmentSize = 64 << 20
	// DefaultMaxSegments is the default of etcd's --max-wals flag. Note that
	// the zero Options.MaxSegments means unlimited, as --max-wals=0 does.
	DefaultMaxSegments = 5
)

// Options tune a WAL. The zero value is usable.
type Options struct {
	// SegmentSize is the size a segment is preallocated to; a segment is
	// cut (a new one started) once a write ends at or past it. Zero means
	// DefaultSegmentSize. Tests use small sizes.
	SegmentSize int64
	// MaxSegments is how many segment files ReleaseTo keeps at least: it
	// deletes released segments, oldest first, only while more than
	// MaxSegments exist. Zero keeps every segment (etcd's --max-wals=0).
	MaxSegments int
	// Logger receives notes such as the torn-tail repair line. Nil discards.
	Logger *slog.Logger
	// OnSync, when set, is called after each fsync that makes a segment's
	// content durable, with the segment's path and the offset up to which
	// the segment is now durable: after every write (Save, SaveSnapshot,
	// Close) and after a new segment's header (Create, a cut). It runs on
	// the writer's goroutine before the write returns, so nothing that
	// depends on the write happens before it. A testing aid: the fault
	// tests cut a killed member's last segment only past this offset, as a
	// power cut may (see V2ETCD_WAL_SYNC_LOG in package etcd).
	OnSync func(segment string, offset int64)

	// noSync skips fsync, for tests that open thousands of WALs. Only this
	// package's tests can set it.
	noSync bool
}

func (o Options) withDefaults() Options {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Metadata identifies the member that owns a WAL. It is written at the start
// of every segment; a restarted member takes its IDs from here only.
type Metadata struct {
	MemberID  uint64
	ClusterID uint64
}

// SnapshotMarker records that a snapshot at Index (whose last entry has
// Term) was taken; Open can replay the WAL from any marker it still holds.
type SnapshotMarker struct {
	Index uint64
	Term  uint64
}

// termRun says that entries from index first on (up to the next run) have
// the given term. The writer keeps these few runs to tell a snapshot that
// replaces raft's log from one that only compacts it.
type termRun struct{ first, term uint64 }

// WAL is a write-ahead log in one directory. It is safe for concurrent use,
// though raft's loop is normally its only user.
type WAL struct {
	mu   sync.Mutex
	dir  string
	opts Options
	lock *os.File // the held LOCK file; closing it releases the lock

	segs     []segment // every segment on disk, oldest first
	released int       // segs[:released] may be deleted by purging

	// Between Open and ReadAll.
	replayPending bool
	at            SnapshotMarker
	start         int // index in segs of the first segment ReadAll reads

	// Append state, valid once Create or ReadAll has returned.
	md         Metadata
	f          *os.File // the last segment, open for writing
	off        int64    // where the next write goes in f
	crc        uint32   // CRC chain value at off
	lastIndex  uint64   // index of the last entry written (or of the newest marker, if later)
	lastMarker uint64   // index of the newest snapshot marker
	runs       []termRun
	state      raft.HardState // newest hard state given to Save
	written    raft.HardState // newest hard state on disk
	buf        []byte         // encoding buffer, reused

	err error // set by Close or by a failed write: every later write returns it
}

// Create makes a new WAL in dir (created with mode 0700 if missing) and
// returns it locked and ready to append. It fails with ErrExist if dir
// already holds a segment; other files in dir are left alone, so dir may be
// a mount point. The first segment holds the metadata and a snapshot marker
// at index 0, so Open(dir, SnapshotMarker{}) replays from the beginning. It
// is made under a temporary name and renamed (see Segments in the package
// doc), so a crash leaves either no WAL or a whole one.
func Create(dir string, md Metadata, opts Options) (*WAL, error) {
	opts = opts.withDefaults()
	dir = filepath.Clean(dir)
	if Exist(dir) {
		return nil, fmt.Errorf("%w in %s", ErrExist, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if !opts.noSync {
		// Make the directory itself durable before anything relies on it.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{dir: dir, opts: opts, lock: lock, md: md, runs: []termRun{{0, 0}}}
	if err := w.create(); err != nil {
		lock.Close()
		return nil, err
	}
	return w, nil
}

func (w *WAL) create() error {
	// Another process may have created the WAL before we took the lock.
	if Exist(w.dir) {
		return fmt.Errorf("%w in %s", ErrExist, w.dir)
	}
	if err := removeTemporarySegments(w.dir); err != nil {
		return err
	}
	header, crc := w.segmentHeader(nil, 0, 0, 0)
	first := len(header)
	header, crc = appendBatch(header, crc, 0, int64(first), uint64(batchFrameSize+markerFrameLen))
	header, crc = appendMarker(header, crc, SnapshotMarker{}, 0)
	seg, err := createSegment(w.dir, 0, 0, header, w.opts.SegmentSize, !w.opts.noSync)
	if err != nil {
		return err
	}
	if w.f, err = os.OpenFile(seg.path, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	w.segs = []segment{seg}
	w.off, w.crc = int64(len(header)), crc
	w.synced()
	return nil
}

// synced reports to Options.OnSync that the last segment is durable up to
// the write offset.
func (w *WAL) synced() {
	if w.opts.OnSync != nil && !w.opts.noSync {
		w.opts.OnSync(w.segs[len(w.segs)-1].path, w.off)
	}
}

// removeTemporarySegments removes the leftovers of a segment creation that
// a crash interrupted. The caller holds the lock.
func removeTemporarySegments(dir string) error {
	names, err := readDirNames(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if strings.HasSuffix(name, segmentExt+tmpExt) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("wal: %w", err)
			}
		}
	}
	return nil
}

// Open locks the WAL in dir and prepares to replay it from the snapshot
// marker at; call ReadAll next. It fails if no segment covers at.Index
// (segments before it were released) or if another process holds the lock.
// Leftover temporary segments from an interrupted cut are removed.
func Open(dir string, at SnapshotMarker, opts Options) (*WAL, error) {
	opts = opts.withDefaults()
	dir = filepath.Clean(dir)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{dir: dir, opts: opts, lock: lock, at: at, replayPending: true}
	if err := w.prepare(); err != nil {
		lock.Close()
		return nil, err
	}
	return w, nil
}

func (w *WAL) prepare() error {
	segs, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("wal: no segment files in %s", w.dir)
	}
	if err := removeTemporarySegments(w.dir); err != nil {
		return err
	}
	w.segs = segs
	w.start = coveringSegment(segs, w.at.Index)
	if w.start < 0 {
		return fmt.Errorf("%w: no segment in %s covers index %d (the oldest, %s, starts at %d)",
			ErrSnapshotNotFound, w.dir, w.at.Index, filepath.Base(segs[0].path), segs[0].first)
	}
	return nil
}

// coveringSegment returns the position of the segment from which the WAL
// must be read to replay from snapshot index: the last one whose first index
// is at or below it. Every entry after index that is still part of the log,
// and the marker for index, are in that segment or later ones (see doc.go).
// It returns -1 if there is none.
func coveringSegment(segs []segment, index uint64) int {
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].first <= index {
			return i
		}
	}
	return -1
}

// segmentHeader appends to b the header of a segment: the CRC carry record
// (carrying crc), the metadata and the newest hard state.
func (w *WAL) segmentHeader(b []byte, crc uint32, seq, first uint64) ([]byte, uint32) {
	b, crc = appendCarry(b, crc, seq, first)
	b, crc = appendMetadata(b, crc, w.md)
	return appendHardState(b, crc, &w.state)
}

// writable returns the error that forbids writing now, if any.
func (w *WAL) writable() error {
	switch {
	case w.err != nil:
		return w.err
	case w.replayPending:
		return errors.New("wal: ReadAll must be called before writing")
	}
	return nil
}

// fail makes err sticky: after a failed write or fsync the state of the file
// is unknown, so the WAL refuses every later write (the caller should stop;
// reopening repairs whatever was half written).
func (w *WAL) fail(err error) error {
	w.err = fmt.Errorf("%w: an earlier write failed: %w", ErrClosed, err)
	return err
}

// Save appends the entries and the hard state in one write. It fsyncs
// (fdatasync where available) once, and only when something must be
// durable: entries were given, or the term or vote changed. A hard state
// whose only change is Commit is kept in memory and written with the next
// write (or by Close): losing it in a crash is harmless, raft learns the
// commit index again. An empty hs means "unchanged".
//
// The entries must be consecutive, must not leave a gap after the last
// entry written, and must be above the newest snapshot marker. Entries
// whose index is at or below an earlier entry's replace that entry and all
// after it, as raft overwrites conflicting entries.
//
// A write is atomic across crashes: after a crash ReadAll returns all of a
// Save or nothing of it. If Save returns an error the WAL refuses further
// writes; Close it and reopen.
func (w *WAL) Save(hs raft.HardState, ents []raft.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writable(); err != nil {
		return err
	}
	if len(ents) > 0 {
		if err := w.checkEntries(ents); err != nil {
			return err
		}
	}
	mustSync := len(ents) > 0 || (!hs.IsEmpty() && (hs.Term != w.state.Term || hs.Vote != w.state.Vote))
	if !hs.IsEmpty() {
		w.state = hs
	}
	if !mustSync {
		return nil
	}
	return w.write(ents, nil)
}

func (w *WAL) checkEntries(ents []raft.Entry) error {
	first := ents[0].Index
	switch {
	case first == 0:
		return errors.New("wal: entry index 0 is not valid")
	case first > w.lastIndex+1:
		return fmt.Errorf("wal: entry %d would leave a gap after entry %d", first, w.lastIndex)
	case first <= w.lastMarker:
		return fmt.Errorf("wal: entry %d is at or below snapshot marker %d and cannot be rewritten", first, w.lastMarker)
	}
	for i := range ents {
		if i > 0 && ents[i].Index != ents[i-1].Index+1 {
			return fmt.Errorf("wal: entries are not consecutive: %d follows %d", ents[i].Index, ents[i-1].Index)
		}
		if 1+ents[i].Size() > maxPayload {
			return fmt.Errorf("wal: entry %d is %d bytes, more than the %d a record can hold", ents[i].Index, ents[i].Size(), maxPayload-1)
		}
	}
	return nil
}

// SaveSnapshot records a snapshot marker so that a later Open can replay
// from it. It is written and fsynced together with the newest hard state,
// whose Commit is raised to at least m.Index (a snapshot only ever covers
// committed entries), so the marker is never ahead of the durable commit.
//
// Call it after the snapshot file is durable (Snapshotter.SaveSnap) and,
// for a snapshot received from the leader, before saving the entries that
// follow it. When the snapshot does not match the log (raft replaced its
// log with it), the marker says so, and replaying from it ignores the
// entries after m.Index that were written before it.
func (w *WAL) SaveSnapshot(m SnapshotMarker) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writable(); err != nil {
		return err
	}
	if m.Index < w.lastMarker {
		return fmt.Errorf("wal: snapshot marker %d is older than marker %d", m.Index, w.lastMarker)
	}
	var flags uint8
	if term, ok := w.termAt(m.Index); !ok || term != m.Term {
		flags = markerReplacesLog
	}
	w.state.Commit = max(w.state.Commit, m.Index)
	return w.write(nil, &markerWrite{m, flags})
}

type markerWrite struct {
	m     SnapshotMarker
	flags uint8
}

// termAt returns the term of the entry at index, if the writer knows it.
func (w *WAL) termAt(index uint64) (uint64, bool) {
	if index > w.lastIndex {
		return 0, false
	}
	for i := len(w.runs) - 1; i >= 0; i-- {
		if w.runs[i].first <= index {
			return w.runs[i].term, true
		}
	}
	return 0, false
}

// write appends one batch holding ents, the hard state if it changed, and
// the marker if any; fsyncs it; and cuts a new segment if this one is full.
func (w *WAL) write(ents []raft.Entry, mk *markerWrite) error {
	writeState := w.state != w.written
	length := batchFrameSize
	for i := range ents {
		length += entryFrameLen(&ents[i])
	}
	if writeState {
		length += hardStateFrameLen(&w.state)
	}
	if mk != nil {
		length += markerFrameLen
	}
	seq := w.segs[len(w.segs)-1].seq
	b, crc := appendBatch(w.buf[:0], w.crc, seq, w.off, uint64(length))
	for i := range ents {
		b, crc = appendEntry(b, crc, &ents[i])
	}
	if writeState {
		b, crc = appendHardState(b, crc, &w.state)
	}
	if mk != nil {
		b, crc = appendMarker(b, crc, mk.m, mk.flags)
	}
	if len(b) != length {
		return w.fail(fmt.Errorf("wal: internal error: batch is %d bytes, expected %d", len(b), length))
	}
	if cap(b) <= 4<<20 {
		w.buf = b // keep a moderate buffer for the next write
	}
	if _, err := w.f.WriteAt(b, w.off); err != nil {
		return w.fail(fmt.Errorf("wal: write %s: %w", w.segs[len(w.segs)-1].path, err))
	}
	if !w.opts.noSync {
		if err := fdatasync(w.f); err != nil {
			return w.fail(fmt.Errorf("wal: fsync %s: %w", w.segs[len(w.segs)-1].path, err))
		}
	}
	w.off += int64(length)
	w.crc = crc
	w.written = w.state
	w.synced()
	if len(ents) > 0 {
		w.noteEntries(ents)
	}
	if mk != nil {
		if mk.flags&markerReplacesLog != 0 {
			w.lastIndex = mk.m.Index
			w.runs = append(w.runs[:0], termRun{mk.m.Index, mk.m.Term})
		}
		w.lastMarker = mk.m.Index
	}
	if w.off >= w.opts.SegmentSize {
		return w.cut()
	}
	return nil
}

// noteEntries updates lastIndex and the term runs after ents were written.
func (w *WAL) noteEntries(ents []raft.Entry) {
	first := ents[0].Index
	i := len(w.runs)
	for i > 0 && w.runs[i-1].first >= first {
		i--
	}
	w.runs = w.runs[:i]
	for _, e := range ents {
		if n := len(w.runs); n == 0 || w.runs[n-1].term != e.Term {
			w.runs = append(w.runs, termRun{e.Index, e.Term})
		}
	}
	w.lastIndex = ents[len(ents)-1].Index
}

// cut seals the current segment and starts the next one. The sealed
// segment is truncated to its last record, so a sealed segment ends exactly
// at a batch boundary; the new one is made under a temporary name, fsynced
// and renamed (createSegment).
func (w *WAL) cut() error {
	cur := w.segs[len(w.segs)-1]
	if err := w.f.Truncate(w.off); err != nil {
		return w.fail(fmt.Errorf("wal: seal %s: %w", cur.path, err))
	}
	if !w.opts.noSync {
		if err := w.f.Sync(); err != nil {
			return w.fail(fmt.Errorf("wal: fsync %s: %w", cur.path, err))
		}
	}
	if err := w.f.Close(); err != nil {
		return w.fail(fmt.Errorf("wal: close %s: %w", cur.path, err))
	}
	w.f = nil
	seq, first := cur.seq+1, w.lastIndex+1
	header, crc := w.segmentHeader(w.buf[:0], w.crc, seq, first)
	seg, err := createSegment(w.dir, seq, first, header, w.opts.SegmentSize, !w.opts.noSync)
	if err != nil {
		return w.fail(err)
	}
	if w.f, err = os.OpenFile(seg.path, os.O_RDWR, 0); err != nil {
		return w.fail(fmt.Errorf("wal: %w", err))
	}
	w.segs = append(w.segs, seg)
	w.off, w.crc = int64(len(header)), crc
	w.written = w.state
	w.synced()
	return nil
}

// ReleaseTo lets purging delete the segments that a replay from a snapshot
// at index would not read: those before the last segment whose first index
// is at or below index. index must not be above the newest snapshot marker.
// Released segments are then deleted, oldest first, while more than
// Options.MaxSegments segments exist (never, if MaxSegments is zero); the
// segment being written is never deleted.
func (w *WAL) ReleaseTo(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writable(); err != nil {
		return err
	}
	if index > w.lastMarker {
		return fmt.Errorf("wal: cannot release up to %d: the newest snapshot marker is at %d", index, w.lastMarker)
	}
	if i := coveringSegment(w.segs, index); i > w.released {
		w.released = i
	}
	return w.purge()
}

// purge deletes released segments beyond Options.MaxSegments.
func (w *WAL) purge() error {
	if w.opts.MaxSegments <= 0 {
		return nil
	}
	n := 0
	for len(w.segs)-n > w.opts.MaxSegments && n < w.released && n < len(w.segs)-1 {
		if err := os.Remove(w.segs[n].path); err != nil {
			w.segs, w.released = w.segs[n:], w.released-n
			return fmt.Errorf("wal: purge: %w", err)
		}
		w.opts.Logger.Info("wal: purged segment", "file", w.segs[n].path)
		n++
	}
	if n == 0 {
		return nil
	}
	w.segs, w.released = w.segs[n:], w.released-n
	if w.opts.noSync {
		return nil
	}
	return syncDir(w.dir)
}

// Close writes a pending hard state, fsyncs, and releases the file lock.
// Closing twice is harmless.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lock == nil {
		return nil
	}
	var err error
	if w.err == nil && w.f != nil && w.state != w.written {
		err = w.write(nil, nil)
	}
	if w.f != nil {
		if cerr := w.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("wal: %w", cerr)
		}
		w.f = nil
	}
	if cerr := w.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wal: %w", cerr)
	}
	w.lock = nil
	w.err = ErrClosed
	return err
}

// lockDir takes the exclusive lock on dir's LOCK file.
func lockDir(dir string) (*os.File, error) {
	f, err := lockFile(filepath.Join(dir, lockName))
	if errors.Is(err, errLockHeld) {
		return nil, fmt.Errorf("%w: %s is in use by another process (or another open WAL)", ErrLocked, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("wal: lock %s: %w", dir, err)
	}
	return f, nil
}
