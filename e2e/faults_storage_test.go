package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The storage faults: what a power cut can leave of a killed member's
// write-ahead log. Members of a storage run are started with
// V2ETCD_WAL_SYNC_LOG, so each appends "<segment> <offset>" to a file after
// every fsync of its WAL; the last line tells how far its last segment is
// durable. Everything past that offset is at most one write that was never
// acknowledged (see the torn-tail rule in package wal), which a power cut
// may lose in part or whole.

// sectorSize is the unit a disk writes whole, as package wal assumes.
const sectorSize = 512

// walCut is how a storage fault damages the tail of a segment.
type walCut int

const (
	cutInData   walCut = iota // truncate inside the bytes written past the synced offset
	cutAnywhere               // truncate anywhere from the synced offset to the file's end
	zeroTail                  // revert every sector from a point past the synced offset
	zeroSectors               // revert a random half of the sectors past the synced offset
)

func (k walCut) String() string {
	return [...]string{"truncate in unsynced data", "truncate anywhere past sync", "zero tail sectors", "zero random sectors"}[k]
}

// lastSync returns the last segment and offset the member's sync log
// reports, or ok false when it reports nothing.
func lastSync(syncLog string) (seg string, off int64, ok bool, err error) {
	b, err := os.ReadFile(syncLog)
	if err != nil {
		if os.IsNotExist(err) {
			return "", 0, false, nil
		}
		return "", 0, false, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	last := lines[len(lines)-1]
	if last == "" {
		return "", 0, false, nil
	}
	i := strings.LastIndexByte(last, ' ')
	if i < 0 {
		return "", 0, false, fmt.Errorf("%s: bad line %q", syncLog, last)
	}
	off, err = strconv.ParseInt(last[i+1:], 10, 64)
	if err != nil {
		return "", 0, false, fmt.Errorf("%s: bad line %q: %w", syncLog, last, err)
	}
	return last[:i], off, true, nil
}

// cutWAL damages the last WAL segment of the (killed) slot's member past
// its last synced offset, as cut says; frac (in [0, 1)) places the cut and
// rnd draws the sectors to zero. It returns a description of what it did.
func cutWAL(s *fslot, cut walCut, frac float64, rnd func(n int) int) (string, error) {
	seg, off, ok, err := lastSync(s.syncLog)
	if err != nil {
		return "", err
	}
	if !ok {
		return "no WAL sync reported: left as is", nil
	}
	segs, err := filepath.Glob(filepath.Join(s.dataDir, "member", "wal", "*.wal"))
	if err != nil {
		return "", err
	}
	slices.Sort(segs)
	if len(segs) == 0 || segs[len(segs)-1] != seg {
		// Killed while starting a new segment, after its rename and before
		// its report: its header is durable, how far is not recorded.
		return fmt.Sprintf("the last segment %v is not the last one reported (%s): left as is", segs[len(segs)-1:], filepath.Base(seg)), nil
	}
	data, err := os.ReadFile(seg)
	if err != nil {
		return "", err
	}
	size := int64(len(data))
	if off > size {
		return "", fmt.Errorf("%s: synced to %d but only %d bytes long", seg, off, size)
	}
	end := off + int64(len(bytes.TrimRight(data[off:], "\x00")))
	at := func(hi int64) int64 { return off + int64(frac*float64(hi-off)) }
	what := ""
	switch cut {
	case cutInData, cutAnywhere:
		to := at(end)
		if cut == cutAnywhere {
			to = at(size)
		}
		if err := os.Truncate(seg, to); err != nil {
			return "", err
		}
		what = fmt.Sprintf("truncated at %d", to)
	case zeroTail, zeroSectors:
		// A sector the lost write touched reads as before the write: its
		// bytes before the synced offset as they were, the rest zero (the
		// preallocated space the write went into).
		first := at(end) / sectorSize * sectorSize
		if cut == zeroSectors {
			first = off / sectorSize * sectorSize
		}
		f, err := os.OpenFile(seg, os.O_WRONLY, 0)
		if err != nil {
			return "", err
		}
		var zeroed []string
		for sec := first; sec < end; sec += sectorSize {
			if cut == zeroSectors && rnd(2) == 0 {
				continue
			}
			from, to := max(sec, off), min(sec+sectorSize, end)
			if from >= to {
				continue
			}
			if _, err := f.WriteAt(make([]byte, to-from), from); err != nil {
				f.Close()
				return "", err
			}
			zeroed = append(zeroed, fmt.Sprintf("[%d, %d)", from, to))
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		what = "zeroed " + strings.Join(zeroed, " ")
		if len(zeroed) == 0 {
			what = "no sector zeroed"
		}
	}
	return fmt.Sprintf("%s synced to %d, written to %d, size %d: %s (%s)", filepath.Base(seg), off, end, size, what, cut), nil
}

// unsynced returns how many bytes the member has written to its last WAL
// segment past the offset it last reported synced (0 when it reported
// nothing, or the last segment is not the one reported).
func unsynced(s *fslot) int64 {
	seg, off, ok, err := lastSync(s.syncLog)
	if err != nil || !ok {
		return 0
	}
	f, err := os.Open(seg)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 1<<20) // a write is far smaller
	k, _ := f.ReadAt(buf, off)
	return int64(len(bytes.TrimRight(buf[:k], "\x00")))
}

// catchWrite tries to stop the victims while one of them has a write in
// flight (written, not yet reported synced), so that the cut that follows
// has unsynced bytes to damage: it stops them all with SIGSTOP, looks at
// their WALs, and if none has unsynced bytes lets them run for a random
// moment (up to 3 ms, drawn from rnd) and tries again, up to tries times.
// It leaves the victims stopped and returns the unsynced bytes found and
// the attempts made.
func catchWrite(victims []*fslot, tries int, rnd func(int) int) (int64, int) {
	for i := 1; ; i++ {
		for _, v := range victims {
			v.p.signal(syscall.SIGSTOP)
		}
		var n int64
		for _, v := range victims {
			n += unsynced(v)
		}
		if n > 0 || i == tries {
			return n, i
		}
		for _, v := range victims {
			v.p.signal(syscall.SIGCONT)
		}
		// Not waiting for anything: letting the members run for a random
		// moment, to stop them at another point of their writes.
		time.Sleep(time.Duration(rnd(3000)) * time.Microsecond)
	}
}
