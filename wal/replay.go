package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"v2etcd/raft"
)

// This file holds reading a WAL back: ReadAll (replay from a snapshot
// marker, with torn-tail repair) and Markers (list the snapshot markers).

// ReadAll replays the WAL from the snapshot marker given to Open. It returns
// the metadata, the newest hard state, and the entries after the marker's
// index, with overwritten entries replaced as raft overwrote them. Entry
// data is copied: the slices belong to the caller.
//
// A torn write at the end of the last segment (see doc.go) is repaired: the
// segment is copied to <name>.broken, cut back to the end of the last
// complete write, fsynced, and a line is logged saying how many bytes were
// dropped. Any other damage returns an error (matching ErrCorrupt) that
// names the file and offset, and nothing is changed on disk.
//
// After ReadAll succeeds the WAL is ready for Save. After it fails, only
// Close may be called.
func (w *WAL) ReadAll() (Metadata, raft.HardState, []raft.Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return Metadata{}, raft.HardState{}, nil, w.err
	}
	if !w.replayPending {
		return Metadata{}, raft.HardState{}, nil, errors.New("wal: ReadAll may be called once, after Open")
	}
	w.replayPending = false
	md, hs, ents, err := w.readAll()
	if err != nil {
		w.err = fmt.Errorf("%w: ReadAll failed: %w", ErrClosed, err)
		return Metadata{}, raft.HardState{}, nil, err
	}
	return md, hs, ents, nil
}

// ReadOnly replays the WAL in dir from the snapshot marker at, as ReadAll
// does, but without taking the lock and without changing anything on disk:
// a torn tail is left where it is (the incomplete write is not returned).
// It is for tools that read the WAL of a member that may be running, such
// as etcdctl backup. Damage other than a torn tail is an error, as for
// ReadAll.
func ReadOnly(dir string, at SnapshotMarker) (Metadata, raft.HardState, []raft.Entry, error) {
	dir = filepath.Clean(dir)
	segs, err := listSegments(dir)
	if err != nil {
		return Metadata{}, raft.HardState{}, nil, err
	}
	if len(segs) == 0 {
		return Metadata{}, raft.HardState{}, nil, fmt.Errorf("wal: no segment files in %s", dir)
	}
	w := &WAL{dir: dir, at: at, segs: segs, start: coveringSegment(segs, at.Index)}
	if w.start < 0 {
		return Metadata{}, raft.HardState{}, nil, fmt.Errorf("%w: no segment in %s covers index %d",
			ErrSnapshotNotFound, dir, at.Index)
	}
	rp, _, _, err := w.scan()
	if err != nil {
		return Metadata{}, raft.HardState{}, nil, err
	}
	return rp.md, rp.hs, rp.ents, nil
}

// scan reads the segments from the covering one on and checks them,
// returning what they hold, the scan result of the last segment and its
// bytes.
func (w *WAL) scan() (*replay, scanResult, []byte, error) {
	rp := &replay{at: w.at}
	var (
		buf  []byte
		crc  uint32
		res  scanResult
		data []byte
		err  error
	)
	for i := w.start; i < len(w.segs); i++ {
		seg := w.segs[i]
		if data, err = readFileInto(seg.path, buf); err != nil {
			return nil, res, nil, err
		}
		buf = data
		rp.seg = seg
		last := i == len(w.segs)-1
		res, err = scanSegment(seg, data, last, crc, i > w.start, rp.visit)
		if err != nil {
			return nil, res, nil, err
		}
		crc = res.crc
	}
	if !rp.found {
		return nil, res, nil, fmt.Errorf("%w: no marker for snapshot %d (term %d) in %s",
			ErrSnapshotNotFound, w.at.Index, w.at.Term, w.dir)
	}
	return rp, res, data, nil
}

func (w *WAL) readAll() (Metadata, raft.HardState, []raft.Entry, error) {
	rp, res, data, err := w.scan()
	if err != nil {
		return Metadata{}, raft.HardState{}, nil, err
	}

	last := w.segs[len(w.segs)-1]
	f, err := os.OpenFile(last.path, os.O_RDWR, 0)
	if err != nil {
		return Metadata{}, raft.HardState{}, nil, fmt.Errorf("wal: %w", err)
	}
	if res.torn != nil {
		if err := w.repair(f, last, data, res.torn); err != nil {
			f.Close()
			return Metadata{}, raft.HardState{}, nil, err
		}
	}
	// Make sure the space after the last write is preallocated: a repair
	// or a crash right after a cut may have left the file short.
	if size := int64(len(data)); res.torn == nil && size < w.opts.SegmentSize {
		if err := preallocate(f, size, w.opts.SegmentSize); err != nil {
			f.Close()
			return Metadata{}, raft.HardState{}, nil, fmt.Errorf("wal: preallocate %s: %w", last.path, err)
		}
	}

	w.f, w.off, w.crc = f, int64(res.end), res.crc
	w.md, w.state, w.written = rp.md, rp.hs, rp.hs
	w.lastMarker = max(rp.lastMarker, w.at.Index)
	w.lastIndex = w.at.Index
	w.runs = []termRun{{w.at.Index, w.at.Term}}
	if len(rp.ents) > 0 {
		w.noteEntries(rp.ents)
	}
	return rp.md, rp.hs, rp.ents, nil
}

// repair cuts a torn tail off the last segment: it keeps a copy of the whole
// segment in <name>.broken, truncates the segment where the torn write
// began, fsyncs, preallocates again and logs what was dropped.
func (w *WAL) repair(f *os.File, seg segment, data []byte, t *tornTail) error {
	sync := !w.opts.noSync
	copyPath, err := copyToBroken(seg.path, data, sync)
	if err != nil {
		return fmt.Errorf("wal: repair %s: keep a copy: %w", seg.path, err)
	}
	err = f.Truncate(int64(t.offset))
	if err == nil && sync {
		err = f.Sync()
	}
	if err == nil {
		err = preallocate(f, int64(t.offset), w.opts.SegmentSize)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("wal: repair %s: %w", seg.path, err)
	}
	w.opts.Logger.Warn("wal: repaired torn tail: dropped an incomplete write that was never acknowledged",
		"file", seg.path, "offset", t.offset, "dropped_bytes", t.dropped,
		"damaged_record_offset", t.damaged, "cause", t.cause, "copy", copyPath)
	return nil
}

// replay accumulates what ReadAll returns.
type replay struct {
	at         SnapshotMarker
	seg        segment // the segment being scanned, for error messages
	md         Metadata
	haveMD     bool
	hs         raft.HardState
	ents       []raft.Entry // entries after at.Index
	found      bool         // the marker for at was seen
	lastMarker uint64
	data       arena
}

func (rp *replay) corrupt(off int, format string, args ...any) error {
	return &CorruptError{File: rp.seg.path, Offset: int64(off), Reason: fmt.Sprintf(format, args...)}
}

func (rp *replay) visit(r *record, off int) error {
	switch r.typ {
	case recMetadata:
		if r.version != FormatVersion {
			return fmt.Errorf("wal: %s has format version %d; this program reads version %d", rp.seg.path, r.version, FormatVersion)
		}
		if rp.haveMD && r.md != rp.md {
			return rp.corrupt(off, "metadata %+v differs from the earlier %+v", r.md, rp.md)
		}
		rp.md, rp.haveMD = r.md, true
	case recHardState:
		rp.hs = r.hs
	case recEntry:
		e := r.entry
		if e.Index <= rp.at.Index {
			return nil // covered by the snapshot
		}
		pos := e.Index - rp.at.Index - 1
		if pos > uint64(len(rp.ents)) {
			return rp.corrupt(off, "entry %d does not follow entry %d", e.Index, rp.at.Index+uint64(len(rp.ents)))
		}
		e.Data = rp.data.copy(e.Data)
		rp.ents = append(rp.ents[:pos], e)
	case recMarker:
		if r.index < rp.lastMarker {
			return rp.corrupt(off, "snapshot marker %d follows marker %d", r.index, rp.lastMarker)
		}
		rp.lastMarker = r.index
		replaces := r.flags&markerReplacesLog != 0
		switch {
		case r.index == rp.at.Index:
			if r.term != rp.at.Term {
				return fmt.Errorf("%w: the marker for snapshot %d in %s at offset %d has term %d, not %d",
					ErrSnapshotMismatch, r.index, rp.seg.path, off, r.term, rp.at.Term)
			}
			rp.found = true
		case replaces && r.index > rp.at.Index:
			return fmt.Errorf("%w: raft replaced its log with snapshot %d (term %d) at %s offset %d; replay from that snapshot or a later one, not %d",
				ErrSnapshotMismatch, r.index, r.term, rp.seg.path, off, rp.at.Index)
		}
		if replaces {
			rp.ents = rp.ents[:0] // entries from the discarded log
		}
	}
	return nil
}

// Markers returns the snapshot markers that the WAL in dir can replay from,
// oldest first, reading every segment (without taking the lock or changing
// anything). Markers before one that records raft replacing its log are
// left out: no replay can cross that point. A snapshot can be used to start
// from only if its marker is listed: pass the list to
// Snapshotter.LoadNewestAvailable, then Open at the snapshot found.
// It fails on damage, as ReadAll does, except that a torn tail is ignored
// rather than repaired.
func Markers(dir string) ([]SnapshotMarker, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("wal: no segment files in %s", dir)
	}
	var (
		markers []SnapshotMarker
		buf     []byte
		crc     uint32
		seg     segment
	)
	visit := func(r *record, off int) error {
		switch r.typ {
		case recMetadata:
			if r.version != FormatVersion {
				return fmt.Errorf("wal: %s has format version %d; this program reads version %d", seg.path, r.version, FormatVersion)
			}
		case recMarker:
			if r.flags&markerReplacesLog != 0 {
				// Raft replaced its log here: no replay can start
				// before this marker and cross it.
				markers = markers[:0]
			}
			markers = append(markers, SnapshotMarker{Index: r.index, Term: r.term})
		}
		return nil
	}
	for i := range segs {
		seg = segs[i]
		if buf, err = readFileInto(seg.path, buf); err != nil {
			return nil, err
		}
		res, err := scanSegment(seg, buf, i == len(segs)-1, crc, i > 0, visit)
		if err != nil {
			return nil, err
		}
		crc = res.crc
	}
	return markers, nil
}

// arena hands out copies of entry data from large slabs, so replaying a
// log of millions of entries makes few allocations and keeps no reference
// to the segment buffers. Slabs start small and double up to maxSlab, so a
// short replay allocates little.
type arena struct {
	slab []byte
	next int // size of the next slab
}

const maxSlab = 1 << 20

func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if len(b) > maxSlab/8 {
		return append([]byte(nil), b...)
	}
	if cap(a.slab)-len(a.slab) < len(b) {
		a.next = min(max(2*a.next, 4096), maxSlab)
		a.slab = make([]byte, 0, max(a.next, len(b)))
	}
	n := len(a.slab)
	a.slab = append(a.slab, b...)
	return a.slab[n : n+len(b) : n+len(b)]
}
