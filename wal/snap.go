package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"v2etcd/raft"
)

// This file holds snapshot files: one raft snapshot per file, named
// <term>-<index>.snap, with its own CRCs. The layout (integers little-endian):
//
//	magic "v2esnap1"                          8 bytes
//	metadata length m                         uint32
//	raft.SnapshotMetadata encoding            m bytes
//	header CRC: CRC-32C of all bytes above    uint32
//	snapshot data                             n bytes
//	data length n                             uint64
//	CRC-32C of data and n, chained from the header CRC  uint32
//
// The header can be checked alone (to stream the data to a peer without
// reading it twice); the trailer checks everything.

const (
	snapExt         = ".snap"
	snapMagic       = "v2esnap1"
	snapTrailerSize = 8 + 4
	maxSnapMetadata = 16 << 20
	snapBufferSize  = 256 << 10
)

// Snapshotter saves and loads snapshot files in one directory. It is safe
// for concurrent use: a snapshot received from a peer may be saved while
// another is loaded or streamed.
type Snapshotter struct {
	dir    string
	log    *slog.Logger
	noSync bool // tests only

	mu     sync.Mutex
	saving map[string]bool // temporary files being written now
}

// NewSnapshotter returns a Snapshotter for dir (created, mode 0700, on the
// first save). A nil logger discards.
func NewSnapshotter(dir string, logger *slog.Logger) *Snapshotter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Snapshotter{dir: filepath.Clean(dir), log: logger, saving: map[string]bool{}}
}

// SnapName returns the file name of the snapshot at (term, index).
func SnapName(term, index uint64) string {
	return fmt.Sprintf("%016x-%016x%s", term, index, snapExt)
}

// parseSnapName parses a name made by SnapName.
func parseSnapName(name string) (term, index uint64, ok bool) {
	if len(name) != 16+1+16+len(snapExt) || !strings.HasSuffix(name, snapExt) || name[16] != '-' {
		return 0, 0, false
	}
	term, ok1 := parseHex16(name[:16])
	index, ok2 := parseHex16(name[17:33])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return term, index, true
}

// SaveSnap writes snap to its file: under a temporary name, fsynced, renamed
// into place, and the directory fsynced. snap.Data is written as it is,
// without a copy.
func (s *Snapshotter) SaveSnap(snap raft.Snapshot) error {
	return s.save(snap.Metadata, func(w io.Writer) error {
		_, err := w.Write(snap.Data)
		return err
	})
}

// SaveSnapFrom saves a snapshot whose data is read from r, as received from
// a peer: exactly size bytes, or up to io.EOF if size is negative. Only a
// complete snapshot gets its file name; on any error nothing is left.
func (s *Snapshotter) SaveSnapFrom(meta raft.SnapshotMetadata, r io.Reader, size int64) error {
	return s.save(meta, func(w io.Writer) error {
		buf := make([]byte, snapBufferSize)
		if size < 0 {
			_, err := io.CopyBuffer(w, r, buf)
			return err
		}
		n, err := io.CopyBuffer(w, io.LimitReader(r, size), buf)
		if err == nil && n < size {
			err = fmt.Errorf("snapshot stream ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
		}
		return err
	})
}

func (s *Snapshotter) save(meta raft.SnapshotMetadata, writeData func(io.Writer) error) error {
	if meta.Index == 0 {
		return errors.New("wal: cannot save a snapshot at index 0")
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	name := SnapName(meta.Term, meta.Index)
	f, err := os.CreateTemp(s.dir, name+".*"+tmpExt)
	if err != nil {
		return fmt.Errorf("wal: save snapshot: %w", err)
	}
	tmp := f.Name()
	s.mu.Lock()
	s.saving[filepath.Base(tmp)] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.saving, filepath.Base(tmp))
		s.mu.Unlock()
	}()

	err = func() error {
		bw := bufio.NewWriterSize(f, snapBufferSize)
		header := encodeSnapHeader(&meta)
		if _, err := bw.Write(header); err != nil {
			return err
		}
		cw := &crcWriter{w: bw, crc: binary.LittleEndian.Uint32(header[len(header)-4:])}
		if err := writeData(cw); err != nil {
			return err
		}
		var trailer [snapTrailerSize]byte
		binary.LittleEndian.PutUint64(trailer[:], uint64(cw.n))
		crc := crc32.Update(cw.crc, castagnoli, trailer[:8])
		binary.LittleEndian.PutUint32(trailer[8:], crc)
		if _, err := bw.Write(trailer[:]); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if !s.noSync {
			return f.Sync()
		}
		return nil
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	final := filepath.Join(s.dir, name)
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil && !s.noSync {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wal: save snapshot %s: %w", final, err)
	}
	return nil
}

// encodeSnapHeader returns the header of a snapshot file: magic, metadata
// length, metadata and header CRC.
func encodeSnapHeader(meta *raft.SnapshotMetadata) []byte {
	b := make([]byte, 0, len(snapMagic)+4+meta.Size()+4)
	b = append(b, snapMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(meta.Size()))
	b = meta.AppendTo(b)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// crcWriter counts and checksums what passes through it.
type crcWriter struct {
	w   io.Writer
	crc uint32
	n   int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.n += int64(n)
	return n, err
}

// SnapshotReader streams the data of one snapshot file, for sending it to a
// peer. Read returns io.EOF only after the whole file has been checked; if
// the file is damaged, the last Read returns an error matching ErrCorrupt
// instead, so a damaged snapshot is never passed on as good.
type SnapshotReader struct {
	Metadata raft.SnapshotMetadata
	Size     int64 // length of the data in bytes

	path      string
	f         *os.File
	br        *bufio.Reader
	dataStart int64
	remaining int64
	crc       uint32
	err       error
}

// OpenSnap opens the snapshot file for (term, index) and checks its header.
// The caller must Close the reader.
func (s *Snapshotter) OpenSnap(term, index uint64) (*SnapshotReader, error) {
	path := filepath.Join(s.dir, SnapName(term, index))
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	r, err := newSnapshotReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	if r.Metadata.Term != term || r.Metadata.Index != index {
		f.Close()
		return nil, &CorruptError{File: path, Offset: 0, Reason: fmt.Sprintf(
			"snapshot metadata says term %d index %d, unlike the file name", r.Metadata.Term, r.Metadata.Index)}
	}
	return r, nil
}

func newSnapshotReader(f *os.File, path string) (*SnapshotReader, error) {
	corrupt := func(off int64, reason string, err error) error {
		return &CorruptError{File: path, Offset: off, Reason: reason, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	size := st.Size()
	br := bufio.NewReaderSize(f, snapBufferSize)
	var fixed [len(snapMagic) + 4]byte
	if _, err := io.ReadFull(br, fixed[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt(0, "snapshot file too short", nil)
		}
		return nil, fmt.Errorf("wal: read %s: %w", path, err)
	}
	if string(fixed[:len(snapMagic)]) != snapMagic {
		return nil, corrupt(0, "not a snapshot file (bad magic)", nil)
	}
	m := int64(binary.LittleEndian.Uint32(fixed[len(snapMagic):]))
	headerLen := int64(len(fixed)) + m + 4
	if m > maxSnapMetadata || headerLen+snapTrailerSize > size {
		return nil, corrupt(int64(len(snapMagic)), "impossible snapshot metadata length", nil)
	}
	rest := make([]byte, m+4)
	if _, err := io.ReadFull(br, rest); err != nil {
		return nil, fmt.Errorf("wal: read %s: %w", path, err)
	}
	crc := crc32.Update(crc32.Checksum(fixed[:], castagnoli), castagnoli, rest[:m])
	if crc != binary.LittleEndian.Uint32(rest[m:]) {
		return nil, corrupt(0, "snapshot header crc mismatch", nil)
	}
	r := &SnapshotReader{path: path, f: f, br: br, dataStart: headerLen, crc: crc}
	if err := r.Metadata.Unmarshal(rest[:m]); err != nil {
		return nil, corrupt(int64(len(fixed)), "undecodable snapshot metadata", err)
	}
	r.Size = size - headerLen - snapTrailerSize
	r.remaining = r.Size
	return r, nil
}

// Read reads snapshot data. See SnapshotReader.
func (r *SnapshotReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remaining == 0 {
		r.err = r.checkTrailer()
		return 0, r.err
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.br.Read(p)
	r.crc = crc32.Update(r.crc, castagnoli, p[:n])
	r.remaining -= int64(n)
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("wal: %s shrank while being read: %w", r.path, io.ErrUnexpectedEOF)
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *SnapshotReader) checkTrailer() error {
	var t [snapTrailerSize]byte
	if _, err := io.ReadFull(r.br, t[:]); err != nil {
		return fmt.Errorf("wal: read %s: %w", r.path, err)
	}
	off := r.dataStart + r.Size
	if n := binary.LittleEndian.Uint64(t[:]); n != uint64(r.Size) {
		return &CorruptError{File: r.path, Offset: off, Reason: fmt.Sprintf("snapshot trailer says %d data bytes, the file holds %d", n, r.Size)}
	}
	if crc32.Update(r.crc, castagnoli, t[:8]) != binary.LittleEndian.Uint32(t[8:]) {
		return &CorruptError{File: r.path, Offset: r.dataStart, Reason: "snapshot data crc mismatch"}
	}
	return io.EOF
}

// Close closes the file.
func (r *SnapshotReader) Close() error { return r.f.Close() }

// readSnapFile reads and checks a whole snapshot file, holding its data in
// memory once.
func readSnapFile(path string, term, index uint64) (raft.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return raft.Snapshot{}, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	r, err := newSnapshotReader(f, path)
	if err != nil {
		return raft.Snapshot{}, err
	}
	if r.Metadata.Term != term || r.Metadata.Index != index {
		return raft.Snapshot{}, &CorruptError{File: path, Offset: 0, Reason: fmt.Sprintf(
			"snapshot metadata says term %d index %d, unlike the file name", r.Metadata.Term, r.Metadata.Index)}
	}
	data := make([]byte, r.Size)
	if _, err := io.ReadFull(r, data); err != nil {
		return raft.Snapshot{}, err
	}
	if _, err := r.Read(nil); err != io.EOF {
		return raft.Snapshot{}, err
	}
	if r.Size == 0 {
		data = nil
	}
	return raft.Snapshot{Metadata: r.Metadata, Data: data}, nil
}

// snapNames returns the snapshot file names in the directory, oldest first.
func (s *Snapshotter) snapNames() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var names []string
	for _, e := range entries {
		if _, _, ok := parseSnapName(e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // by term, then index: by age
	return names, nil
}

// Load returns the newest snapshot that checks. Damaged files met on the
// way are renamed <name>.broken (and logged). It returns an error matching
// ErrNoSnapshot if no file checks. Use LoadNewestAvailable at startup: it
// also makes sure the WAL can replay from the snapshot it returns.
func (s *Snapshotter) Load() (raft.Snapshot, error) {
	return s.loadNewest(func(SnapshotMarker) bool { return true })
}

// LoadNewestAvailable returns the newest snapshot that checks and whose
// (index, term) is among markers, the WAL's snapshot markers (Markers):
// the newest snapshot the WAL can replay from. Damaged files met on the way
// are renamed <name>.broken and logged, and older ones are tried.
//
// If none is found it returns an error matching ErrNoSnapshot when starting
// without a snapshot is safe: no file was damaged, or the WAL still holds
// the marker at index 0 (it covers the log from its start). When a damaged
// snapshot was set aside and the WAL no longer covers the gap, it returns
// an error matching ErrCorrupt instead.
func (s *Snapshotter) LoadNewestAvailable(markers []SnapshotMarker) (raft.Snapshot, error) {
	return s.loadNewest(func(m SnapshotMarker) bool { return slices.Contains(markers, m) })
}

func (s *Snapshotter) loadNewest(available func(SnapshotMarker) bool) (raft.Snapshot, error) {
	names, err := s.snapNames()
	if err != nil {
		return raft.Snapshot{}, err
	}
	var damaged []error
	for i := len(names) - 1; i >= 0; i-- {
		term, index, _ := parseSnapName(names[i])
		if !available(SnapshotMarker{Index: index, Term: term}) {
			continue
		}
		path := filepath.Join(s.dir, names[i])
		snap, err := readSnapFile(path, term, index)
		if err == nil {
			return snap, nil
		}
		if !errors.Is(err, ErrCorrupt) {
			return raft.Snapshot{}, err // an I/O error says nothing about the file: do not touch it
		}
		broken := freeBrokenName(path)
		if rerr := os.Rename(path, broken); rerr != nil {
			return raft.Snapshot{}, fmt.Errorf("%w (and renaming it to %s failed: %v)", err, broken, rerr)
		}
		s.log.Warn("wal: snapshot file is damaged; renamed it and trying an older one",
			"file", path, "renamed_to", broken, "error", err)
		damaged = append(damaged, err)
	}
	if len(damaged) == 0 {
		return raft.Snapshot{}, fmt.Errorf("%w in %s", ErrNoSnapshot, s.dir)
	}
	if available(SnapshotMarker{}) {
		return raft.Snapshot{}, fmt.Errorf("%w usable in %s: %d damaged file(s) renamed %s, the first: %v",
			ErrNoSnapshot, s.dir, len(damaged), brokenExt, damaged[0])
	}
	return raft.Snapshot{}, fmt.Errorf("%w; no older snapshot is covered by the WAL (%d damaged file(s) renamed %s)",
		damaged[0], len(damaged), brokenExt)
}

// Purge deletes the oldest snapshot files while more than max exist (max 0
// keeps them all, as --max-snapshots=0 does), and leftover temporary files
// of interrupted saves. Files renamed .broken are kept for inspection.
func (s *Snapshotter) Purge(max int) error {
	names, err := s.snapNames()
	if err != nil {
		return err
	}
	var remove []string
	if max > 0 && len(names) > max {
		remove = names[:len(names)-max]
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wal: %w", err)
	}
	s.mu.Lock()
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, tmpExt) && strings.Contains(n, snapExt+".") && !s.saving[n] {
			remove = append(remove, n)
		}
	}
	s.mu.Unlock()
	if len(remove) == 0 {
		return nil
	}
	for _, n := range remove {
		if err := os.Remove(filepath.Join(s.dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: purge snapshots: %w", err)
		}
		s.log.Info("wal: purged snapshot file", "file", filepath.Join(s.dir, n))
	}
	if s.noSync {
		return nil
	}
	return syncDir(s.dir)
}
