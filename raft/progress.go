package raft

import "fmt"

// ProgressState is how the leader currently sends entries to one follower.
// Figure 2 keeps only nextIndex and matchIndex per follower; a practical
// leader also needs to know whether it is still searching for the point
// where the follower's log matches its own, or streaming entries, or waiting
// for a snapshot to be installed.
type ProgressState uint8

const (
	// StateProbe: the leader does not know where the follower's log stops
	// matching its own. It sends one append at a time (from Next) and waits
	// for the answer, moving Next back after each rejection (§5.3).
	StateProbe ProgressState = iota
	// StateReplicate: the follower's log matches up to Match. The leader
	// streams appends without waiting for answers, advancing Next
	// optimistically, bounded by the in-flight limit.
	StateReplicate
	// StateSnapshot: the follower needs entries the leader has compacted, so
	// the leader sent a snapshot (§7) and sends nothing else until the
	// follower acknowledges it or the caller reports it failed.
	StateSnapshot
)

func (s ProgressState) String() string {
	switch s {
	case StateProbe:
		return "probe"
	case StateReplicate:
		return "replicate"
	case StateSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("ProgressState(%d)", uint8(s))
}

// progress is what the leader knows about one member's log (Figure 2,
// "volatile state on leaders": nextIndex[] and matchIndex[]), plus the
// bookkeeping of the send strategy. The leader keeps one for every voter,
// itself included: its own match is its durable last index.
type progress struct {
	// match is the highest index known to be replicated (and persisted) on
	// the member; next is the index of the next entry to send.
	match, next uint64
	state       ProgressState

	// probeSent is set in StateProbe once an append is on its way; the
	// leader sends no other until an answer (or a heartbeat answer) arrives.
	probeSent bool
	// pendingSnapshot is the index of the snapshot sent in StateSnapshot.
	pendingSnapshot uint64
	// inflight holds the last index of every append sent in
	// StateReplicate and not yet acknowledged.
	inflight inflights
	// ackedSinceBeat is set when an append was acknowledged since the last
	// heartbeat answer; the leader uses it to notice a stalled stream.
	ackedSinceBeat bool

	// lastHeard is the leader's tick count when this member last answered.
	// The leader uses it for CheckQuorum and Status.
	lastHeard uint64
	// sentCommit is the highest commit index this member has been told, so
	// the leader knows when a commit-only append is worth sending.
	sentCommit uint64
}

func newProgress(next uint64, maxInflight int, now uint64) *progress {
	return &progress{next: next, inflight: newInflights(maxInflight), lastHeard: now}
}

// paused reports whether the leader must not send this member another
// append for now.
func (pr *progress) paused() bool {
	switch pr.state {
	case StateProbe:
		return pr.probeSent
	case StateReplicate:
		return pr.inflight.full()
	}
	return true
}

// becomeProbe starts searching for the match point again from match+1 (or
// just after the snapshot that was sent, which the follower may have
// installed).
func (pr *progress) becomeProbe() {
	if pr.state == StateSnapshot {
		pr.next = max(pr.match+1, pr.pendingSnapshot+1)
	} else {
		pr.next = pr.match + 1
	}
	pr.state = StateProbe
	pr.probeSent = false
	pr.pendingSnapshot = 0
	pr.inflight.reset()
}

// becomeReplicate starts streaming from just after match.
func (pr *progress) becomeReplicate() {
	pr.state = StateReplicate
	pr.next = pr.match + 1
	pr.probeSent = false
	pr.pendingSnapshot = 0
	pr.inflight.reset()
}

// becomeSnapshot records that a snapshot at index i was sent.
func (pr *progress) becomeSnapshot(i uint64) {
	pr.state = StateSnapshot
	pr.pendingSnapshot = i
	pr.probeSent = false
	pr.inflight.reset()
}

// sent records an append that covered the entries up to last.
func (pr *progress) sent(last uint64, nonEmpty bool) {
	switch pr.state {
	case StateReplicate:
		if nonEmpty {
			pr.next = last + 1
			pr.inflight.add(last)
		}
	case StateProbe:
		pr.probeSent = true
	}
}

// acknowledge records that the member's log matches up to n. It reports
// whether match moved. Any answer also lets a probe continue.
func (pr *progress) acknowledge(n uint64) bool {
	pr.probeSent = false
	if pr.state == StateReplicate {
		pr.inflight.freeTo(n)
	}
	if n <= pr.match {
		pr.next = max(pr.next, n+1)
		return false
	}
	pr.match = n
	pr.next = max(pr.next, n+1)
	return true
}

// rejected handles a refused append of the entries after index rejected;
// next is where the leader should try again (from the follower's hint). It
// reports false when the rejection is stale: an answer to an append sent
// before the leader learned something newer.
func (pr *progress) rejected(rejected, next uint64) bool {
	switch pr.state {
	case StateReplicate:
		if rejected <= pr.match {
			return false
		}
		// The stream broke (lost or reordered messages, or a follower that
		// lost its log): go back to probing.
		pr.becomeProbe()
		pr.next = max(min(rejected, next), pr.match+1)
		return true
	case StateProbe:
		if rejected != pr.next-1 {
			return false
		}
		pr.next = max(min(rejected, next), pr.match+1)
		pr.probeSent = false
		return true
	}
	return false
}

// inflights is a ring buffer of the last indexes of the appends sent to one
// member in StateReplicate and not yet acknowledged.
type inflights struct {
	buf   []uint64
	start int
	count int
}

func newInflights(size int) inflights { return inflights{buf: make([]uint64, size)} }

func (in *inflights) full() bool { return in.count == len(in.buf) }

func (in *inflights) add(last uint64) {
	in.buf[(in.start+in.count)%len(in.buf)] = last
	in.count++
}

// freeTo forgets the appends whose last index is at most i: the member has
// them all.
func (in *inflights) freeTo(i uint64) {
	for in.count > 0 && in.buf[in.start] <= i {
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
}

func (in *inflights) reset() { in.start, in.count = 0, 0 }
