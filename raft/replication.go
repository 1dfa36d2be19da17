package raft

import (
	"fmt"
	"slices"
)

// Log replication (§5.3) and commitment (§5.4.2).
//
// The leader appends proposals to its own log and replicates them with
// AppendEntries (MsgApp). Appends are not sent the moment something is
// proposed: the leader sets appendsDue and builds them when the caller asks
// for the next Ready (flushAppends). Everything proposed in between thus
// reaches each follower in one message, up to MaxSizePerMsg.

// Propose asks the cluster to append data to the log. On the leader the
// entry is appended at once; a follower forwards it to the leader. It
// returns ErrProposalDropped when there is no leader to take it, or the
// leader is handing over leadership. Success means only that the proposal
// is on its way: the caller learns that it committed when the entry comes
// out of Ready.CommittedEntries. Raft keeps data, which the caller must not
// change afterwards.
func (r *Raft) Propose(data []byte) error {
	if r.role == Leader {
		if err := r.canAccept(); err != nil {
			return err
		}
		r.appendEntries(Entry{Data: data})
		return nil
	}
	return r.step(Message{Type: MsgProp, From: r.id, Entries: []Entry{{Data: data}}})
}

// ReportUnreachable tells the leader that the transport could not deliver a
// message to member id. The leader stops streaming appends to it and probes
// it instead, one message at a time, until it answers.
func (r *Raft) ReportUnreachable(id uint64) {
	r.step(Message{Type: MsgUnreachable, From: id})
}

// canAccept reports why the leader cannot take proposals now, if it cannot.
func (r *Raft) canAccept() error {
	if r.leadTransferee != None {
		return fmt.Errorf("%w: leadership is being transferred to %x", ErrProposalDropped, r.leadTransferee)
	}
	return nil
}

// handleProposal appends the entries of a MsgProp (local, or forwarded by a
// follower) to the leader's log.
func (r *Raft) handleProposal(m Message) error {
	if err := r.canAccept(); err != nil {
		if m.From != r.id {
			return nil // forwarded: the proposer will time out and retry
		}
		return err
	}
	for _, e := range m.Entries {
		if e.Type == EntryConfChange {
			if err := r.checkConfChangeProposal(e.Data); err != nil {
				if m.From == r.id {
					return err
				}
				continue // a forwarded proposal: the proposer will time out
			}
			r.appendEntries(Entry{Type: EntryConfChange, Data: e.Data})
			r.pendingConfIndex = r.log.lastIndex()
			continue
		}
		r.appendEntries(Entry{Data: e.Data})
	}
	return nil
}

// appendEntries adds entries to the leader's own log, in the current term.
// They count towards commitment only once persisted (see Advance).
func (r *Raft) appendEntries(ents ...Entry) {
	last := r.log.lastIndex()
	for i := range ents {
		ents[i].Term = r.term
		ents[i].Index = last + 1 + uint64(i)
	}
	r.log.append(ents...)
	r.appendsDue = true
}

// flushAppends sends every follower what it is due: new entries, a
// snapshot, or just the new commit index. It runs when a Ready is built.
func (r *Raft) flushAppends() {
	if r.role != Leader || !r.appendsDue {
		return
	}
	r.appendsDue = false
	for _, id := range r.voters {
		if id != r.id {
			r.sendAppends(id, r.progress[id])
		}
	}
}

// sendAppends sends one member as many appends as its progress state
// allows: one in StateProbe, up to the in-flight limit in StateReplicate,
// none in StateSnapshot.
func (r *Raft) sendAppends(to uint64, pr *progress) {
	for !pr.paused() {
		if !r.sendAppend(to, pr) {
			return
		}
	}
}

// sendAppend sends one MsgApp (or MsgSnap) to a member, if there is
// anything to tell it, and reports whether it sent one.
func (r *Raft) sendAppend(to uint64, pr *progress) bool {
	prevIndex := pr.next - 1
	prevTerm, ok := r.log.term(prevIndex)
	if !ok {
		// The entries the member needs were compacted: send the snapshot.
		r.sendSnapshot(to, pr)
		return false
	}
	last := r.log.lastIndex()
	ents := r.log.slice(pr.next, last+1, r.maxMsgSize)
	covered := prevIndex + uint64(len(ents))
	commit := min(r.log.committed, covered)
	if len(ents) == 0 && commit <= pr.sentCommit && pr.state != StateProbe {
		return false // nothing new to tell
	}
	r.send(Message{Type: MsgApp, To: to, Index: prevIndex, LogTerm: prevTerm,
		Entries: ents, Commit: r.log.committed})
	pr.sentCommit = max(pr.sentCommit, commit)
	pr.sent(covered, len(ents) > 0)
	return len(ents) > 0
}

// handleAppend is a follower receiving AppendEntries (§5.3). It answers
// with the index its log now matches up to, or rejects with a hint: the
// last index at which its log might still match the leader's, found by
// skipping every entry whose term is newer than the leader's entry at
// m.Index (the optimisation at the end of §5.3).
func (r *Raft) handleAppend(m Message) error {
	if m.Index < r.log.committed {
		// Our committed entries match the leader's log (Log Matching,
		// §5.3), and may be compacted already: skip the part of the
		// message they cover. Where we can check that they match, we do:
		// only a broken or forged leader could send a conflicting one.
		for i := range m.Entries {
			e := &m.Entries[i]
			if t, ok := r.log.term(e.Index); ok && e.Index <= r.log.committed && t != e.Term {
				err := fmt.Errorf("raft: an append from %x would replace committed entry %d (term %d) with one of term %d",
					m.From, e.Index, t, e.Term)
				r.logger.Error("refused an append", "err", err)
				return err
			}
		}
		skip := r.log.committed - m.Index
		if uint64(len(m.Entries)) <= skip {
			r.send(Message{Type: MsgAppResp, To: m.From, Index: r.log.committed})
			return nil
		}
		m.Index, m.LogTerm = r.log.committed, m.Entries[skip-1].Term
		m.Entries = m.Entries[skip:]
	}
	if last, ok := r.log.maybeAppend(m.Index, m.LogTerm, m.Entries); ok {
		// Figure 2: "if leaderCommit > commitIndex, set commitIndex =
		// min(leaderCommit, index of last new entry)".
		r.log.commitTo(min(m.Commit, last))
		r.send(Message{Type: MsgAppResp, To: m.From, Index: last})
		return nil
	}
	hint, hintTerm := r.log.findConflictByTerm(m.Index, m.LogTerm)
	r.send(Message{Type: MsgAppResp, To: m.From, Index: m.Index, Reject: true,
		RejectHint: hint, LogTerm: hintTerm})
	return nil
}

// handleAppendResponse is the leader learning how an append went.
func (r *Raft) handleAppendResponse(m Message, pr *progress) {
	if m.Reject {
		// Use the hint to skip, in our own log, every entry whose term is
		// newer than the follower's entry at the hint: such entries cannot
		// match either (§5.3).
		next := m.RejectHint + 1
		if m.LogTerm > 0 {
			j, _ := r.log.findConflictByTerm(m.RejectHint, m.LogTerm)
			next = j + 1
		}
		if pr.rejected(m.Index, next) {
			r.appendsDue = true
		}
		return
	}
	advanced := pr.acknowledge(m.Index)
	pr.ackedSinceBeat = true
	switch {
	case pr.state == StateProbe && m.Index >= pr.match:
		// Found the point where the logs match: start streaming.
		pr.becomeReplicate()
	case pr.state == StateSnapshot && pr.match >= pr.pendingSnapshot:
		// The snapshot was installed.
		pr.becomeProbe()
		pr.becomeReplicate()
	}
	// An answer may have unpaused a probe or freed an in-flight slot.
	r.appendsDue = true
	if !advanced {
		return
	}
	if r.maybeCommit() {
		r.releasePendingReads()
	}
	if m.From == r.leadTransferee && pr.match == r.log.lastIndex() {
		r.sendTimeoutNow(m.From)
	}
}

// maybeCommit advances the commit index to the highest entry a quorum of
// voters holds, if that entry is of the current term. §5.4.2: entries of
// earlier terms are never committed by counting replicas, only indirectly,
// when an entry of the current term after them commits (Figure 8 shows why).
func (r *Raft) maybeCommit() bool {
	if len(r.voters) == 0 {
		return false
	}
	r.matchBuf = r.matchBuf[:0]
	for _, id := range r.voters {
		r.matchBuf = append(r.matchBuf, r.progress[id].match)
	}
	slices.Sort(r.matchBuf)
	// With the matches sorted in increasing order, a quorum holds every
	// index up to the one at position len-quorum.
	n := r.matchBuf[len(r.matchBuf)-r.quorum()]
	if t, ok := r.log.term(n); !ok || t != r.term {
		return false
	}
	if !r.log.commitTo(n) {
		return false
	}
	r.appendsDue = true // tell the followers
	return true
}

// broadcastHeartbeat sends every follower a heartbeat (§5.2: an empty
// AppendEntries), carrying ctx when it confirms a ReadIndex request.
func (r *Raft) broadcastHeartbeat(ctx []byte) {
	for _, id := range r.voters {
		if id != r.id {
			r.sendHeartbeat(id, ctx)
		}
	}
}

// sendHeartbeat tells a follower the commit index, but never past what it
// is known to hold: it might not have the entries after its match yet.
func (r *Raft) sendHeartbeat(to uint64, ctx []byte) {
	commit := min(r.progress[to].match, r.log.committed)
	r.send(Message{Type: MsgHeartbeat, To: to, Commit: commit, Context: ctx})
}

// handleHeartbeat is a follower receiving a heartbeat.
func (r *Raft) handleHeartbeat(m Message) {
	r.log.commitTo(m.Commit)
	r.send(Message{Type: MsgHeartbeatResp, To: m.From, Context: m.Context})
}

// handleHeartbeatResponse is the leader hearing back from a heartbeat: the
// member is alive, a paused probe may go on, and a ReadIndex request may
// gain a confirmation.
func (r *Raft) handleHeartbeatResponse(m Message, pr *progress) {
	pr.probeSent = false
	if pr.state == StateReplicate && pr.inflight.count > 0 && !pr.ackedSinceBeat {
		// The member answers heartbeats but acknowledged none of the
		// appends in flight since the previous answer: some were probably
		// lost. Send again from what it is known to hold.
		pr.becomeProbe()
	}
	pr.ackedSinceBeat = false
	if pr.match < r.log.lastIndex() || pr.sentCommit < r.log.committed {
		r.appendsDue = true
	}
	if len(m.Context) > 0 {
		r.confirmRead(m.From, m.Context)
	}
}
