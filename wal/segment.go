package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// This file holds what concerns segment files as files: their names, how
// they are listed, created (temporary name, fsync, rename, directory fsync)
// and preallocated.

const (
	segmentExt = ".wal"
	tmpExt     = ".tmp"
	brokenExt  = ".broken"
	lockName   = "LOCK"
)

// segment is one segment file named <seq>-<first index>.wal.
type segment struct {
	seq   uint64
	first uint64 // the WAL's last index + 1 when the segment was cut (0 for the first segment)
	path  string
}

// segmentName returns the file name of segment seq whose first index is first.
func segmentName(seq, first uint64) string {
	return fmt.Sprintf("%016x-%016x%s", seq, first, segmentExt)
}

// parseSegmentName parses a segment file name. It accepts exactly the names
// segmentName makes.
func parseSegmentName(name string) (seq, first uint64, ok bool) {
	if len(name) != 16+1+16+len(segmentExt) || !strings.HasSuffix(name, segmentExt) || name[16] != '-' {
		return 0, 0, false
	}
	seq, ok1 := parseHex16(name[:16])
	first, ok2 := parseHex16(name[17:33])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return seq, first, true
}

// parseHex16 parses exactly 16 lower-case hex digits.
func parseHex16(s string) (uint64, bool) {
	var x uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			x = x<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			x = x<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return x, len(s) == 16
}

// listSegments returns the segments in dir in sequence order. It fails on a
// file that ends in .wal but is not named like a segment, and on a gap in
// the sequence numbers (a missing segment).
func listSegments(dir string) ([]segment, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, name := range names {
		if !strings.HasSuffix(name, segmentExt) {
			continue
		}
		seq, first, ok := parseSegmentName(name)
		if !ok {
			return nil, fmt.Errorf("wal: unexpected file %s in %s: not named <seq>-<index>.wal", name, dir)
		}
		segs = append(segs, segment{seq: seq, first: first, path: filepath.Join(dir, name)})
	}
	slices.SortFunc(segs, func(a, b segment) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	for i := 1; i < len(segs); i++ {
		if segs[i].seq != segs[i-1].seq+1 {
			return nil, &CorruptError{File: segs[i].path, Offset: 0,
				Reason: fmt.Sprintf("missing segment: sequence %d should come before", segs[i-1].seq+1)}
		}
	}
	return segs, nil
}

// readDirNames returns the names in dir, sorted.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Exist reports whether dir holds a WAL, that is at least one segment file.
func Exist(dir string) bool {
	names, err := readDirNames(dir)
	if err != nil {
		return false
	}
	for _, name := range names {
		if _, _, ok := parseSegmentName(name); ok {
			return true
		}
	}
	return false
}

// createSegment writes a new segment holding header under a temporary
// name, preallocates it to size bytes, fsyncs it, renames it to its final
// name and fsyncs dir, so the segment appears whole or not at all. The
// caller opens it (a file cannot be renamed while open on Windows).
func createSegment(dir string, seq, first uint64, header []byte, size int64, sync bool) (segment, error) {
	seg := segment{seq: seq, first: first, path: filepath.Join(dir, segmentName(seq, first))}
	tmp := seg.path + tmpExt
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return seg, fmt.Errorf("wal: create segment: %w", err)
	}
	err = preallocate(f, 0, size)
	if err == nil {
		_, err = f.WriteAt(header, 0)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, seg.path)
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return seg, fmt.Errorf("wal: create segment %s: %w", seg.path, err)
	}
	return seg, nil
}

// preallocate makes f at least size bytes long, its new bytes zero and (where
// the platform allows) allocated on disk. from is f's current size.
func preallocate(f *os.File, from, size int64) error {
	if size <= from {
		return nil
	}
	if err := fallocate(f, from, size); !errors.Is(err, errNoFallocate) {
		return err
	}
	return writeZeros(f, from, size)
}

// errNoFallocate says the platform or file system cannot allocate space
// without writing; preallocate then writes zeros.
var errNoFallocate = errors.New("fallocate not supported")

// writeZeros writes zeros to f from offset from up to size: the portable way
// to allocate space.
func writeZeros(f *os.File, from, size int64) error {
	zeros := make([]byte, min(size-from, 1<<20))
	for off := from; off < size; {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// readFileInto reads the whole file at path into buf (grown if needed) and
// returns the filled slice.
func readFileInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf, fmt.Errorf("wal: %w", err)
	}
	size := int(st.Size())
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(f, buf); err != nil {
		return buf, fmt.Errorf("wal: read %s: %w", path, err)
	}
	return buf, nil
}

// copyToBroken copies the file at path to path+".broken" (or .broken.1,
// .broken.2, ... if that exists, so no earlier evidence is overwritten) and
// fsyncs the copy. It returns the copy's path.
func copyToBroken(path string, data []byte, sync bool) (string, error) {
	for {
		dst := freeBrokenName(path)
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue // taken meanwhile
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if err == nil && sync {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && sync {
			err = syncDir(filepath.Dir(path))
		}
		return dst, err
	}
}

// freeBrokenName returns path+".broken", or path+".broken.N" for the
// smallest N that names no file yet, so no earlier evidence is overwritten.
func freeBrokenName(path string) string {
	for i := 0; ; i++ {
		name := path + brokenExt
		if i > 0 {
			name = fmt.Sprintf("%s%s.%d", path, brokenExt, i)
		}
		if _, err := os.Lstat(name); err != nil {
			return name // free (or unreadable: the caller's open or rename will say why)
		}
	}
}
