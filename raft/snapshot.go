package raft

import (
	"errors"
	"fmt"
)

// Log compaction and snapshots (§7).
//
// The caller takes snapshots of its state machine (raft never sees their
// contents) and registers each with Compact. Raft then drops the entries the
// snapshot covers, except a tail of CatchUpEntries so that a follower a
// little behind still catches up from the log. A follower that needs an
// entry the leader no longer holds is sent the latest registered snapshot
// instead (MsgSnap, the InstallSnapshot RPC). The message carries only the
// metadata; the caller's transport attaches the snapshot's bytes.

// ErrSnapshotOutOfDate is returned by Compact for a snapshot no newer than
// the one raft already has.
var ErrSnapshotOutOfDate = errors.New("raft: snapshot out of date")

// Compact registers a snapshot the caller took of its state machine at
// meta.Index (which the caller must have applied), with meta.Term the
// term of that entry and meta.ConfState the membership at that point (as
// returned by the last ApplyConfChange at or before it, or by the last
// snapshot the caller loaded). It returns ErrSnapshotOutOfDate when raft
// already has a snapshot at least as new, for example one received from
// the leader that the caller has not finished persisting. Raft compacts
// its log up to meta.Index minus CatchUpEntries, and from now on sends this
// snapshot to followers that need compacted entries; the caller must keep
// it available for that.
func (r *Raft) Compact(meta SnapshotMetadata) error {
	if meta.Index <= r.snapshot.Index {
		return fmt.Errorf("%w: index %d, raft has a snapshot at %d", ErrSnapshotOutOfDate, meta.Index, r.snapshot.Index)
	}
	if meta.Index > r.log.applied {
		return fmt.Errorf("raft: cannot register a snapshot at %d: only %d is applied", meta.Index, r.log.applied)
	}
	if t, ok := r.log.term(meta.Index); !ok || t != meta.Term {
		return fmt.Errorf("raft: snapshot at %d has term %d, the log says %d", meta.Index, meta.Term, t)
	}
	if !validVoters(meta.ConfState.Voters) {
		return fmt.Errorf("raft: snapshot membership %v has zero or a duplicate", meta.ConfState.Voters)
	}
	r.snapshot = cloneMetadata(meta)
	if meta.Index <= r.catchUpEntries {
		return nil
	}
	// Never drop entries that are not durable yet: a Ready still refers
	// to them.
	to := min(meta.Index-r.catchUpEntries, r.log.stabled)
	if to > r.log.prevIndex {
		r.log.compact(to)
	}
	return nil
}

// sendSnapshot sends a member the latest snapshot, because the entries it
// needs next are compacted.
func (r *Raft) sendSnapshot(to uint64, pr *progress) {
	meta := cloneMetadata(r.snapshot)
	r.send(Message{Type: MsgSnap, To: to, Snapshot: &Snapshot{Metadata: meta}})
	pr.becomeSnapshot(meta.Index)
	r.logger.Info("sent a snapshot", "to", fmt.Sprintf("%x", to), "index", meta.Index, "term", meta.Term)
}

// handleSnapshot is a follower receiving InstallSnapshot (§7). If the
// snapshot is news, the member discards its whole log and hands the
// snapshot to the caller in Ready.Snapshot to persist and load; it takes the
// snapshot's membership when the caller has done so (Advance). Either way it
// answers with the index its log now matches the leader's up to.
func (r *Raft) handleSnapshot(m Message) {
	if r.restore(m.Snapshot) {
		r.logger.Info("restored from a snapshot", "index", r.snapshot.Index, "term", r.snapshot.Term)
	}
	r.send(Message{Type: MsgAppResp, To: m.From, Index: r.log.lastIndex()})
}

// restore installs s unless the log already covers it. §7: "If existing
// log entry has same index and term as snapshot's last included entry,
// retain log entries following it"; we then only learn that they are
// committed. The snapshot's Data is kept as it came (empty when the
// transport delivers the bytes separately).
func (r *Raft) restore(s *Snapshot) bool {
	meta := s.Metadata
	if meta.Index <= r.log.committed {
		return false // we have all of it already
	}
	if r.log.matchTerm(meta.Index, meta.Term) {
		r.log.commitTo(meta.Index)
		return false
	}
	snap := &Snapshot{Metadata: cloneMetadata(meta), Data: s.Data}
	r.log.restore(snap)
	r.snapshot = snap.Metadata
	return true
}

// ReportSnapshot tells the leader how sending a snapshot to member id went:
// ok when the transport delivered it, false when it failed. The caller must
// report every MsgSnap it was given to send: until it does, the leader sends
// that member nothing else (unless the member's answer arrives first).
// After a failure the leader probes the member again, and sends a snapshot
// again if the member still needs one.
func (r *Raft) ReportSnapshot(id uint64, ok bool) {
	r.step(Message{Type: MsgSnapStatus, From: id, Reject: !ok})
}

// handleSnapshotStatus is the leader learning the transport's verdict on a
// snapshot it sent.
func (r *Raft) handleSnapshotStatus(m Message, pr *progress) {
	if pr.state != StateSnapshot {
		return
	}
	if m.Reject {
		pr.pendingSnapshot = 0 // probe from match again
	}
	// Either way, wait for the member's answer before sending more: after
	// a success it will answer the snapshot itself; after a failure the
	// next heartbeat answer restarts the probe.
	pr.becomeProbe()
	pr.probeSent = true
}
