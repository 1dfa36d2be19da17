// Package wal is the member's durable storage: a write-ahead log of raft
// hard states, entries and snapshot markers in append-only segment files,
// and snapshot files. It is the only thing between an acknowledged write and
// a crash, so it never loses an acknowledged write and never starts on
// silently damaged data. It imports raft for its types only.
//
// # Layout
//
// A member's data directory holds the WAL and the snapshots apart:
//
//	<data-dir>/member/wal/                      (or --wal-dir)
//	    LOCK                                    flock'ed while the WAL is open
//	    0000000000000000-0000000000000000.wal   <seq>-<first index>.wal, 16 hex digits each
//	    0000000000000001-00000000000012a4.wal
//	<data-dir>/member/snap/
//	    0000000000000002-0000000000002711.snap  <term>-<index>.snap
//
// Directories are made with mode 0700, files with 0600.
//
// # How the server uses it
//
// A new member:
//
//	w, err := wal.Create(walDir, wal.Metadata{MemberID: id, ClusterID: cid}, opts)
//
// A restarted member finds the newest snapshot the WAL can replay from,
// then replays:
//
//	markers, err := wal.Markers(walDir)            // the WAL's snapshot markers
//	snap, err := snapshotter.LoadNewestAvailable(markers)
//	// errors.Is(err, wal.ErrNoSnapshot): start from an empty state, at SnapshotMarker{}
//	w, err := wal.Open(walDir, wal.SnapshotMarker{Index: snap.Metadata.Index, Term: snap.Metadata.Term}, opts)
//	md, hs, ents, err := w.ReadAll()               // IDs, hard state, entries after the snapshot
//
// Raft's loop then calls w.Save(rd.HardState, rd.Entries) for each Ready,
// before sending messages that depend on them (as a follower) and before
// answering any client. A snapshot is recorded in this order:
//
//	snapshotter.SaveSnap(snap)                     // the file is durable first
//	w.SaveSnapshot(wal.SnapshotMarker{Index: i, Term: t})
//	w.ReleaseTo(i)                                 // purges segments beyond --max-wals
//	snapshotter.Purge(maxSnapshots)
//
// For a snapshot received from the leader, call SaveSnapshot before saving
// the entries that follow it (Save refuses an entry that would leave a gap).
// To keep an older snapshot usable as a fallback, release only up to it.
//
// # Segments
//
// The WAL is a sequence of segment files numbered from 0. A segment is named
// after its sequence number and its first index: the WAL's last index + 1
// when the segment was started (0 for the first segment). A new segment is
// written under the name <name>.tmp, preallocated (Options.SegmentSize, 64 MB
// by default; fallocate on Linux, written zeros elsewhere), fsynced, renamed
// to its final name, and the directory fsynced: it appears whole or not at
// all. A segment is cut (the next one started) after a write that ends at or
// beyond SegmentSize; the full segment is first truncated to the end of its
// last write and fsynced, so a sealed segment ends exactly at a write
// boundary and only the last segment has preallocated zero space at its end.
//
// Every segment starts with a header of three records, written before the
// rename: a CRC carry record (the CRC chain value at the end of the previous
// segment, the segment's sequence number and first index, which must match
// the file name), a metadata record (format version, member ID, cluster ID)
// and the newest hard state. After the header come writes.
//
// # Records
//
// Each record is a frame that starts at an 8-byte aligned offset:
//
//	length  uint32, little-endian: bytes of payload
//	crc     uint32, little-endian
//	payload type (1 byte) and body
//	padding zeros up to the next multiple of 8
//
// The length and CRC form one aligned 8-byte word, which never straddles a
// 512-byte sector, so a crash cannot tear it: it is either written whole or
// reads as zero. The CRC is CRC-32C (Castagnoli), chained: it covers the
// length field, the payload and the padding, starting from the CRC of the
// previous record (for the carry record, from the value it carries). A record
// therefore checks only in its place in the sequence: a lost, reordered,
// repeated or foreign record or segment breaks the chain.
//
// The record types and their bodies (integers little-endian):
//
//	1 crc carry      crc uint32, segment sequence uint64, first index uint64
//	2 metadata       format version uint32, member ID uint64, cluster ID uint64
//	3 hard state     raft.HardState encoding
//	4 entry          raft.Entry encoding
//	5 snapshot mark  index uint64, term uint64, flags byte (1: raft replaced its log)
//	6 batch          length uint64 of the whole write, self-check uint32
//
// # Writes
//
// Every write (one Save, one SaveSnapshot) starts with a batch record giving
// the length of the write, then its records; the write is one pwrite followed
// by at most one fdatasync (f.Sync outside Linux: F_FULLFSYNC on macOS,
// FlushFileBuffers on Windows). When the write fills the segment, the cut
// that follows adds the fsyncs of sealing the old segment and making the new
// one, once per SegmentSize bytes. The batch record's self-check is a CRC-32C of
// (segment sequence, offset, length), independent of the chain, so a batch
// record can be recognised on its own at its offset. Replay hands out the
// records of a write only when the whole write checks: a Save is atomic
// across crashes, and raft never sees half of a Ready.
//
// Save fsyncs only when something must be durable: entries were given, or the
// term or vote changed. A hard state whose only change is Commit is kept in
// memory and written with the next write, by SaveSnapshot or by Close; losing
// it in a crash is harmless (raft learns the commit index again). So the
// writer never leaves written-but-unsynced data behind it when it starts a
// new write: at any moment at most one write, the last, is not known durable.
// The torn-tail rule below rests on this.
//
// Entries whose index is at or below an earlier entry's replace that entry
// and everything after it, as raft overwrites conflicting entries; replay
// applies the same rule. Entries at or below the newest snapshot marker are
// committed and Save refuses to rewrite them. A failed write or fsync makes
// the WAL refuse every later write (after a failed fsync the state of the
// file is unknown): the caller should stop, and reopening repairs the tail.
//
// # Snapshot markers and replay
//
// A snapshot marker says a snapshot at (index, term) exists; Create writes
// one at (0, 0). SaveSnapshot writes the marker together with the newest hard
// state, its Commit raised to at least the marker's index (a snapshot only
// covers committed entries), so a durable marker is never ahead of the
// durable commit. When the marker does not match the log (the term of the
// entry at that index differs, or the log is shorter: raft replaced its log
// with a snapshot from the leader), the marker carries flag 1, and replay
// drops the entries after its index that were written before it: they belong
// to the discarded log; Markers leaves out the markers before it, since no
// replay can cross it. Markers never go backwards.
//
// Open(dir, at) starts reading at the last segment whose first index is at or
// below at.Index. Because a marker raises the WAL's last index to at least its
// own index and entries at or below it are never rewritten, every later cut
// has a first index above it: the marker, and every entry after it that is
// still part of the log, are in that segment or later ones. ReadAll then
// returns the entries after at.Index, and fails with ErrSnapshotNotFound if
// the marker is missing, or ErrSnapshotMismatch if its term differs or a
// marker with flag 1 above at.Index shows the log was replaced after it.
//
// ReleaseTo(index) marks as deletable the segments before the one a replay
// from index would start at, then deletes deletable segments, oldest first,
// while more than Options.MaxSegments exist (etcd's --max-wals; 0 keeps all).
// The segment being written is never deleted.
//
// # Damage: the torn-tail rule
//
// A crash can interrupt only the last write, at the end of the last segment.
// Such a write was never acknowledged (Save had not returned), and a disk
// writes 512-byte sectors whole but may write the sectors of one write in
// any order, so the torn write can show any mix of written sectors and
// zeros (preallocated space, or a file cut short). Replay walks the records;
// at the first frame that does not check, in the last segment, it decides:
//
//  1. The frame must look interrupted: its header word is zero and so is the
//     rest of that sector; or it runs past the end of the file; or its CRC
//     fails and one of the 512-byte sectors it spans is all zeros (within the
//     frame). A CRC failure with no zeroed sector, an impossible length, or a
//     record that checks but is malformed, is corruption.
//  2. Nothing may have been written after that write, since a later write
//     would mean this one had been acknowledged. If the damaged frame is
//     inside a write whose batch record checked, every byte after the end of
//     that write must be zero. If the damage is where a write would begin,
//     no valid batch record may appear at any offset after it.
//
// If both hold, the tail is torn: the segment is copied to <name>.broken
// (or <name>.broken.1, ...), truncated where the torn write began, fsynced
// and preallocated again, and a warning is logged with the number of bytes
// dropped. Otherwise ReadAll fails with a *CorruptError (errors.Is(err,
// ErrCorrupt)) naming the file and offset, for example
//
//	wal: crc mismatch in /data/member/wal/0000000000000000-0000000000000001.wal at offset 8192
//
// and changes nothing. Any damage in a segment other than the last, a damaged
// segment header, a gap in the sequence numbers, a carry record that does not
// match the previous segment, differing metadata, or entries that skip an
// index are corruption too. Nothing is guessed: data is dropped only when it
// can only be an unacknowledged write, and never silently.
//
// Two limits are inherent. Damage confined to the final write that looks
// like rule 1 (say a zeroed sector) cannot be told from that write being
// interrupted, so it is treated as torn even if the disk lost it after its
// fsync returned. And the loss of whole final segments cannot be seen.
//
// Markers (the list for choosing a snapshot) reads every segment with the
// same rule, but never repairs: it ignores a torn tail.
//
// # Locking
//
// Create and Open take an exclusive lock on <dir>/LOCK (flock on Unix; on
// Windows the file is opened with no sharing). A second process, or a second
// WAL value in the same process, gets an error matching ErrLocked that names
// the directory. The lock is released by Close or when the process dies.
//
// # Snapshot files
//
// A Snapshotter keeps one raft.Snapshot per file, <term %016x>-<index %016x>.snap:
//
//	magic "v2esnap1", metadata length uint32, raft.SnapshotMetadata encoding,
//	header CRC-32C uint32, data, data length uint64, CRC-32C of data and
//	length chained from the header CRC uint32
//
// SaveSnap writes snap.Data without copying it, under a temporary name,
// fsyncs, renames and fsyncs the directory. SaveSnapFrom does the same from
// an io.Reader (a snapshot streamed by a peer), so it is never held in
// memory. OpenSnap returns a SnapshotReader that streams a file's data and
// reports damage (instead of io.EOF) once it reaches the end, for sending a
// snapshot to a lagging member. Load and LoadNewestAvailable read the newest
// file that checks into memory once; a damaged one is renamed <name>.broken,
// logged, and the next older one tried. LoadNewestAvailable only considers
// snapshots whose marker the WAL holds, and when none is left it returns
// ErrNoSnapshot only if starting without a snapshot is safe (nothing was
// damaged, or the WAL still holds the marker at 0), else an error matching
// ErrCorrupt. Purge keeps the newest --max-snapshots files (0 keeps all),
// removes leftover temporary files and never removes .broken files.
//
// # Platforms
//
// Linux uses fdatasync and fallocate. macOS and other Unix systems use
// f.Sync (F_FULLFSYNC on macOS) and preallocate by writing zeros. Windows uses
// FlushFileBuffers, writes zeros, locks by share mode, and does not fsync
// directories (it cannot open them for that; NTFS journals its metadata).
//
// # Tests
//
// The tests cut the last segment at every byte offset of its final writes,
// flip every byte of a write in the middle of the log, and exercise each case
// of the torn-tail rule. FuzzScanSegment, FuzzReplayScript and
// FuzzDecodeRecord fuzz the decoder (go test -fuzz FuzzScanSegment ./wal).
// TestCrashKill9 re-executes the test binary as a child that appends and
// fsyncs in a loop, kills it with SIGKILL at random moments and checks that
// every acknowledged index survives; -wal.crashrounds=N runs more rounds.
// The benchmarks (go test -run '^$' -bench . ./wal) measure Save with fsync,
// the replay of a 1 GB log and the disk's raw fsync latency.
package wal
