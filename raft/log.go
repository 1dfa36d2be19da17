package raft

// raftLog is a member's copy of the replicated log (Figure 2: log[]), held
// entirely in memory. It is a window of the full log: the entries before
// the window were compacted into a snapshot (§7) and only the index and term
// of the last compacted entry are kept, in prevIndex and prevTerm.
//
//	   compacted    | entries[0]   entries[1]  ...  entries[n-1]
//	... prevIndex   | prevIndex+1                   lastIndex()
//
// Besides the entries, the log tracks five positions. They only move
// forward, except that persisting and stabled move back when a follower
// deletes conflicting entries (§5.3): the replacements must be persisted
// again. They always satisfy
//
//	applied <= applying <= committed <= lastIndex()
//	stabled <= persisting <= lastIndex()
//
// committed is the highest entry known to be committed (Figure 2:
// commitIndex). applying is the highest entry handed to the caller in
// Ready.CommittedEntries, and applied the highest the caller confirmed
// applying with Advance (Figure 2: lastApplied). persisting is the highest
// entry handed to the caller in Ready.Entries, and stabled the highest the
// caller confirmed persisting.
type raftLog struct {
	prevIndex, prevTerm uint64
	entries             []Entry

	committed uint64
	applying  uint64
	applied   uint64

	persisting uint64
	stabled    uint64

	// snapshot is a snapshot received from the leader that the caller has
	// not yet been given in a Ready (snapshotOut false) or has not yet
	// confirmed persisting (snapshotOut true). nil when there is none.
	snapshot    *Snapshot
	snapshotOut bool
}

// firstIndex is the index of the first entry still held in memory.
func (l *raftLog) firstIndex() uint64 { return l.prevIndex + 1 }

// lastIndex is the index of the last entry of the log, or the snapshot's
// index when the log is empty.
func (l *raftLog) lastIndex() uint64 { return l.prevIndex + uint64(len(l.entries)) }

// lastTerm is the term of the last entry (§5.4.1 compares logs by it).
func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term returns the term of the entry at index i. ok is false when the entry
// was compacted away or lies beyond the end of the log.
func (l *raftLog) term(i uint64) (t uint64, ok bool) {
	switch {
	case i == l.prevIndex:
		return l.prevTerm, true
	case i < l.prevIndex || i > l.lastIndex():
		return 0, false
	}
	return l.entries[i-l.prevIndex-1].Term, true
}

// matchTerm reports whether the log holds an entry at index i with term t:
// the AppendEntries consistency check of §5.3.
func (l *raftLog) matchTerm(i, t uint64) bool {
	lt, ok := l.term(i)
	return ok && lt == t
}

// isUpToDate reports whether a log ending at (lastIndex, lastTerm) is at
// least as up-to-date as this one (§5.4.1): the later last term wins, and
// with equal last terms the longer log wins.
func (l *raftLog) isUpToDate(lastIndex, lastTerm uint64) bool {
	return lastTerm > l.lastTerm() || (lastTerm == l.lastTerm() && lastIndex >= l.lastIndex())
}

// entry returns a pointer to the entry at index i, which must be held.
func (l *raftLog) entry(i uint64) *Entry { return &l.entries[i-l.prevIndex-1] }

// slice returns the entries in [lo, hi), which must all be held, cut short
// so that their encoded size stays within maxBytes; it always returns at
// least one entry when lo < hi. The result shares memory with the log but
// has no spare capacity, so appending to it never writes into the log.
func (l *raftLog) slice(lo, hi, maxBytes uint64) []Entry {
	if lo >= hi {
		return nil
	}
	ents := l.entries[lo-l.prevIndex-1 : hi-l.prevIndex-1]
	var size uint64
	for i := range ents {
		size += uint64(ents[i].Size())
		if i > 0 && size > maxBytes {
			ents = ents[:i]
			break
		}
	}
	return ents[:len(ents):len(ents)]
}

// span returns the entries in [lo, hi), which must all be held, like slice
// but without a size limit.
func (l *raftLog) span(lo, hi uint64) []Entry {
	ents := l.entries[lo-l.prevIndex-1 : hi-l.prevIndex-1]
	return ents[:len(ents):len(ents)]
}

// append adds entries to the end of the log. The leader uses it for its own
// proposals; ents must start at lastIndex()+1.
func (l *raftLog) append(ents ...Entry) {
	if n := len(l.entries) + len(ents); n > cap(l.entries) {
		// Double the array. (The built-in append grows large slices by a
		// quarter only, which copies a long log many times over.)
		grown := make([]Entry, len(l.entries), 2*n)
		copy(grown, l.entries)
		l.entries = grown
	}
	l.entries = append(l.entries, ents...)
}

// maybeAppend is the receiving half of AppendEntries (§5.3): if the log
// holds the entry (prevIndex, prevTerm) the leader's message builds on, it
// deletes any of its entries that conflict with ents, appends the new ones,
// and returns the index of the last entry the message covers. ok is false
// when the consistency check fails and nothing changed. The caller makes
// sure that prevIndex is at least the commit index, so that no committed
// entry can be deleted.
func (l *raftLog) maybeAppend(prevIndex, prevTerm uint64, ents []Entry) (last uint64, ok bool) {
	if !l.matchTerm(prevIndex, prevTerm) {
		return 0, false
	}
	last = prevIndex + uint64(len(ents))
	// Skip the entries we already hold; stop at the first conflict.
	i := 0
	for ; i < len(ents); i++ {
		if t, held := l.term(ents[i].Index); !held || t != ents[i].Term {
			break
		}
	}
	if i == len(ents) {
		return last, true
	}
	if first := ents[i].Index; first <= l.lastIndex() {
		l.truncateFrom(first)
	}
	l.append(ents[i:]...)
	return last, true
}

// truncateFrom deletes the entries from index i on. Slices handed out
// earlier (in messages or a Ready) keep their contents because the kept
// entries are copied to a new array.
func (l *raftLog) truncateFrom(i uint64) {
	kept := make([]Entry, i-l.firstIndex(), i-l.firstIndex()+16)
	copy(kept, l.entries)
	l.entries = kept
	l.persisting = min(l.persisting, i-1)
	l.stabled = min(l.stabled, i-1)
}

// findConflictByTerm returns the largest index j <= index whose entry has a
// term no greater than term, together with that entry's term. A follower
// uses it to build the hint of a rejection and the leader to interpret it
// (fast backtracking, end of §5.3): every entry between j and index has a
// term greater than term, so none of them can match the other log, and the
// search skips a whole term per round trip instead of one entry.
func (l *raftLog) findConflictByTerm(index, term uint64) (uint64, uint64) {
	j := min(index, l.lastIndex())
	if j < l.prevIndex {
		return j, 0 // compacted: nothing to compare
	}
	for j > l.prevIndex {
		if t, _ := l.term(j); t <= term {
			return j, t
		}
		j--
	}
	return j, l.prevTerm
}

// commitTo raises the commit index to i. It never lowers it, and never moves
// it past the end of the log.
func (l *raftLog) commitTo(i uint64) bool {
	i = min(i, l.lastIndex())
	if i <= l.committed {
		return false
	}
	l.committed = i
	return true
}

// restore replaces the whole log by a snapshot (§7): everything it covers
// is committed, and the entries after it arrive from the leader later.
func (l *raftLog) restore(s *Snapshot) {
	l.prevIndex, l.prevTerm = s.Metadata.Index, s.Metadata.Term
	l.entries = nil
	l.committed = s.Metadata.Index
	l.applying = s.Metadata.Index
	l.persisting = s.Metadata.Index
	l.stabled = s.Metadata.Index
	l.snapshot = s
	l.snapshotOut = false
}

// compact forgets the entries up to and including index i, which must be
// held. It only reslices: messages and Readys handed out earlier may still
// share the array, so it must not be overwritten. Its memory is reclaimed
// when append next outgrows it and copies the kept entries to a new array.
func (l *raftLog) compact(i uint64) {
	t, _ := l.term(i)
	l.entries = l.entries[i-l.prevIndex:]
	l.prevIndex, l.prevTerm = i, t
}

// hasConfChangeToApply reports whether a committed entry that the caller
// has not yet applied changes the membership. A member does not campaign
// while it has one: it might not be a member any more, or the quorum it
// counts might be wrong.
func (l *raftLog) hasConfChangeToApply() bool {
	for i := max(l.applied+1, l.firstIndex()); i <= l.committed; i++ {
		if l.entry(i).Type == EntryConfChange {
			return true
		}
	}
	return false
}
