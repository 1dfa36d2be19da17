package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"v2etcd/raft"
)

// These benchmarks measure what the issue names: Save throughput with
// fsync for batches of 1, 16 and 256 entries of 128 bytes, the replay speed
// of a 1 GB log, and, in the same run, the raw fsync latency of the disk
// under them. Run: go test -run '^$' -bench . -count 5 ./wal
// The directory used is os.TempDir() (set TMPDIR to measure another disk).

// BenchmarkFsync measures the disk's own flush latency, without the WAL:
// one small write to a preallocated file followed by fdatasync, as Save
// does, and the same with a full fsync.
func BenchmarkFsync(b *testing.B) {
	for _, tc := range []struct {
		name   string
		sync   func(*os.File) error
		zeroed bool // preallocate by writing zeros rather than fallocate
	}{
		{"fdatasync", fdatasync, false},
		{"fsync", (*os.File).Sync, false},
		{"fdatasync-zero-filled", fdatasync, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "f"), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			const size = 64 << 20
			prealloc := preallocate
			if tc.zeroed {
				prealloc = writeZeros
			}
			if err := prealloc(f, 0, size); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256)
			var off int64
			for b.Loop() {
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if err := tc.sync(f); err != nil {
					b.Fatal(err)
				}
				off = (off + int64(len(buf))) % size
			}
		})
	}
}

// BenchmarkSave measures Save with fsync: one op is one Save of a batch.
func BenchmarkSave(b *testing.B) {
	const entrySize = 128
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			w, err := Create(filepath.Join(b.TempDir(), "wal"), Metadata{MemberID: 1}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			ents := makeEntries(1, batch, 1, entrySize)
			next := uint64(1)
			b.SetBytes(int64(batch * entrySize))
			for b.Loop() {
				for i := range ents {
					ents[i].Index = next + uint64(i)
				}
				next += uint64(batch)
				if err := w.Save(raft.HardState{Term: 1, Vote: 1, Commit: next - 1}, ents); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkReplay1GB measures reading a 1 GB log of 1 KB entries (about a
// million): "ReadAll" replays it from the start and returns every entry (so
// it also allocates 1 GB for the entries' data), "Markers" reads and checks
// every record but keeps only the snapshot markers (the decoder's own
// speed). Each runs from the page cache ("warm") and, on Linux, with the
// segment files dropped from the cache first ("cold"). The log is built
// once, without an fsync per write (replay does not care) and flushed once
// at the end, in a temporary directory removed afterwards.
func BenchmarkReplay1GB(b *testing.B) {
	const (
		entrySize = 1024
		total     = 1 << 30
		batch     = 1024
	)
	dir := filepath.Join(b.TempDir(), "wal")
	w, err := Create(dir, Metadata{MemberID: 1}, Options{noSync: true})
	if err != nil {
		b.Fatal(err)
	}
	n := total / entrySize
	for next := 1; next <= n; next += batch {
		if err := w.Save(raft.HardState{Term: 1, Commit: uint64(next)}, makeEntries(uint64(next), batch, 1, entrySize)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	segs, err := listSegments(dir)
	if err != nil {
		b.Fatal(err)
	}
	// Flush the log to disk now, so the kernel's writeback does not run
	// during the measurement.
	var bytes int64
	for _, s := range segs {
		f, err := os.Open(s.path)
		if err != nil {
			b.Fatal(err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(s.path)
		if err != nil {
			b.Fatal(err)
		}
		bytes += st.Size()
	}
	readAll := func(b *testing.B) {
		w, err := Open(dir, SnapshotMarker{}, Options{noSync: true})
		if err != nil {
			b.Fatal(err)
		}
		_, _, ents, err := w.ReadAll()
		if err != nil {
			b.Fatal(err)
		}
		if len(ents) != n {
			b.Fatalf("replayed %d entries, want %d", len(ents), n)
		}
		w.Close()
	}
	markers := func(b *testing.B) {
		if _, err := Markers(dir); err != nil {
			b.Fatal(err)
		}
	}
	for _, kind := range []struct {
		name string
		run  func(*testing.B)
	}{{"ReadAll", readAll}, {"Markers", markers}} {
		for _, cold := range []bool{false, true} {
			name := kind.name + "/warm"
			if cold {
				name = kind.name + "/cold"
			}
			b.Run(name, func(b *testing.B) {
				if cold && !canEvict {
					b.Skip("cannot drop files from the page cache on this platform")
				}
				b.SetBytes(bytes)
				for b.Loop() {
					if cold {
						b.StopTimer()
						for _, s := range segs {
							if err := evictFromCache(s.path); err != nil {
								b.Fatal(err)
							}
						}
						b.StartTimer()
					}
					kind.run(b)
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}
