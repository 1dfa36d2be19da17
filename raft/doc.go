// Package raft is the Raft consensus algorithm as a pure, deterministic state
// machine: no goroutines, no clocks, no I/O, no randomness but a seeded
// source. It follows "In Search of an Understandable Consensus Algorithm"
// (Ongaro and Ousterhout, 2014; "the paper" below, with its section
// numbers) and a few refinements from Ongaro's thesis ("Consensus: Bridging
// Theory and Practice", 2014; "the thesis"). This comment is a short
// chapter on how the package works; every rule of the paper can be found by
// grepping the code for its section number or its wording.
//
// # The shape of the package
//
// A Raft value is one member of a cluster. The caller owns everything that
// touches the world (disk, network, clock, state machine) and drives the
// member with a small set of inputs:
//
//	Tick()                      time passes: one tick (election and heartbeat timeouts count ticks)
//	Step(m)                     a message arrived from another member
//	Propose(data)               a client wants data appended to the log
//	ProposeConfChange(cc)       a membership change (§6)
//	ReadIndex(ctx)              a linearizable read (§8)
//	TransferLeader(id)          hand leadership to id (thesis §3.10)
//	ApplyConfChange(cc)         the caller applied a committed membership change
//	Compact(meta)               the caller took a snapshot; the log may shrink (§7)
//	ReportSnapshot(id, ok)      how sending a snapshot to id went
//	ReportUnreachable(id)       the transport cannot reach id
//
// and takes the output as a batch:
//
//	for {
//		// ... call Tick, Step, Propose as events happen ...
//		if !r.HasReady() {
//			continue
//		}
//		rd := r.Ready()
//		send(rd.Messages that !raft.NeedsPersist(m)) // may go before the fsync
//		persist(rd.Snapshot, rd.Entries, rd.HardState) // fsync if rd.MustSync
//		send(the other rd.Messages)
//		apply(rd.Snapshot, rd.CommittedEntries)        // ApplyConfChange for accepted changes
//		serve(rd.ReadStates)                           // once applied >= their Index
//		r.Advance(rd)
//	}
//
// The exact persistence contract (what must be durable before which message
// leaves) is stated on the Ready type in ready.go. Same inputs, same
// outputs: that is what makes the package testable by simulation, and easy
// to read, since every change of state happens in a function you can find
// from the input that caused it.
//
// Files are named after what they hold: raft.go (the Raft type, New, Step
// and the dispatch by role), election.go, replication.go, log.go,
// progress.go, snapshot.go, membership.go, readindex.go, transfer.go,
// ready.go, status.go, config.go, and the wire types and their encoding in
// types.go and encoding.go.
//
// # Figure 2, rule by rule
//
// State. currentTerm and votedFor are Raft.term and Raft.vote, and log[] is
// raftLog; the caller persists all three from Ready.HardState and
// Ready.Entries. commitIndex is raftLog.committed and lastApplied is
// raftLog.applied (moved by Advance). On the leader, nextIndex[] and
// matchIndex[] are progress.next and progress.match, one progress per voter
// (progress.go).
//
// AppendEntries (MsgApp, answered by MsgAppResp; a heartbeat is MsgHeartbeat):
//  1. "Reply false if term < currentTerm": Raft.step drops messages of older
//     terms, and stepOlderTerm answers with the newer term so that the
//     stale leader steps down.
//  2. "Reply false if log doesn't contain an entry at prevLogIndex whose term
//     matches prevLogTerm": raftLog.maybeAppend checks raftLog.matchTerm;
//     handleAppend rejects with a hint (see §5.3 below).
//  3. "If an existing entry conflicts with a new one, delete the existing
//     entry and all that follow it": raftLog.maybeAppend, raftLog.truncateFrom.
//  4. "Append any new entries not already in the log": raftLog.maybeAppend.
//  5. "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
//     index of last new entry)": handleAppend; handleHeartbeat does the same
//     with the commit index the leader knows the follower holds.
//
// RequestVote (MsgVote, answered by MsgVoteResp):
//  1. "Reply false if term < currentTerm": Raft.step, with stepOlderTerm
//     answering with the newer term so that the stale candidate catches up.
//  2. "If votedFor is null or candidateId, and candidate's log is at least as
//     up-to-date as receiver's log, grant vote": handleVoteRequest with
//     raftLog.isUpToDate.
//
// Rules for all servers: "If commitIndex > lastApplied: ... apply
// log[lastApplied]" is Ready.CommittedEntries and Advance. "If RPC request
// or response contains term T > currentTerm: set currentTerm = T, convert
// to follower" is Raft.step, stepNewerTerm and becomeFollower.
//
// Followers: "Respond to RPCs from candidates and leaders" is stepFollower
// and handleVoteRequest. "If election timeout elapses without receiving
// AppendEntries RPC from current leader or granting vote to candidate:
// convert to candidate" is tickElection; heardFromLeader and
// handleVoteRequest reset the timer.
//
// Candidates: "increment currentTerm, vote for self, reset election timer,
// send RequestVote RPCs" is becomeCandidate and campaign. "If votes received
// from majority of servers: become leader" is handleVoteResponse, tally and
// becomeLeader. "If AppendEntries RPC received from new leader: convert to
// follower" is stepCandidate. "If election timeout elapses: start new
// election" is tickElection again.
//
// Leaders: "Upon election: send initial empty AppendEntries RPCs" is
// becomeLeader, which appends an empty entry of its term and probes every
// follower with it; heartbeats during idle periods are tickLeader and
// broadcastHeartbeat. "If command received from client: append entry to
// local log" is Propose and appendEntries (answering the client once the
// entry is applied is the caller's job). "If last log index >= nextIndex for
// a follower: send AppendEntries RPC with log entries starting at
// nextIndex" is flushAppends, sendAppends and sendAppend; "if successful:
// update nextIndex and matchIndex" is handleAppendResponse and
// progress.acknowledge; "if AppendEntries fails because of log
// inconsistency: decrement nextIndex and retry" is progress.rejected. "If
// there exists an N such that N > commitIndex, a majority of matchIndex[i]
// >= N, and log[N].term == currentTerm: set commitIndex = N" is maybeCommit.
//
// # The sections
//
// §5.1, terms and roles. A member is a Follower, a Candidate or the Leader
// (plus PreCandidate, below). Every message carries its sender's term, and
// Raft.step handles terms first for every message, before dispatching to
// stepLeader, stepCandidate or stepFollower. Members start as followers.
//
// §5.2, leader election. A follower that hears nothing from a leader for a
// randomized election timeout, drawn from [ElectionTick, 2*ElectionTick)
// with the seeded source, campaigns: becomeCandidate, campaign. A member
// votes at most once per term; the vote is part of the hard state and
// reaches the disk before the vote is sent (NeedsPersist). A candidate
// wins with votes from a majority of the voters (tally), and then
// becomeLeader.
//
// §5.3, log replication. The leader's view of each follower is a progress
// in one of three states (progress.go): StateProbe while it looks for the
// last index at which the follower's log matches its own, sending one
// append at a time; StateReplicate once it found it, streaming appends
// without waiting for answers, at most MaxInflightMsgs unacknowledged and
// each at most MaxSizePerMsg bytes; StateSnapshot while the follower
// installs a snapshot. Appends are built when the caller asks for a Ready
// (flushAppends), so every proposal made since the previous Ready travels in
// one message. A follower that refuses an append returns a hint computed
// by raftLog.findConflictByTerm; the leader applies the same function to its
// own log, so each round trip skips at least a whole term of mismatching
// entries (the optimisation the paper sketches at the end of §5.3).
//
// §5.4.1, the election restriction. raftLog.isUpToDate compares the last
// terms, then the lengths, of two logs; a voter refuses a candidate whose
// log is behind its own, so a leader always holds every committed entry.
//
// §5.4.2, committing entries from previous terms. maybeCommit counts
// replicas only for an entry of the current term; earlier entries commit
// with it (TestFigure8 replays the scenario of the paper's Figure 8). A new
// leader appends an empty entry of its term at once, so that it commits what
// earlier leaders left behind without waiting for a client.
//
// §5.5, crashes. Appends are idempotent (raftLog.maybeAppend keeps the
// entries it already has), and nothing is acknowledged before it is
// durable: a follower's MsgAppResp and any vote leave only after the Ready
// that carries them is persisted. The leader may send its appends before its
// own fsync (thesis §10.2.1); its own copy counts towards a quorum only
// after Advance, so nothing commits that is not durable on a majority, even
// in a single-member cluster.
//
// §5.6, timing. ElectionTick and HeartbeatTick set the timeouts, in ticks;
// the caller picks the tick length.
//
// §6, membership changes. One voter is added or removed at a time, so that
// every majority of the old configuration overlaps every majority of the
// new one. A change is a conf change entry; like etcd, and unlike the
// paper, it takes effect on each member when the caller applies it and
// calls ApplyConfChange (the caller may decline an invalid change, such as
// re-adding a removed ID, by not calling it; every member declines the same
// ones since they apply the same log). Two rules keep this safe, both in
// membership.go: the leader accepts no new change until the previous one
// (tracked by its index, pendingConfIndex) is applied, and a new leader
// accepts none before it has applied its own empty entry. A member does not
// campaign while a committed change is unapplied (raftLog.hasConfChangeToApply),
// a member outside the configuration never campaigns (promotable), and a
// leader that removes itself steps down once the change is applied, hence
// committed. A new cluster's log starts with one committed ConfChangeAddNode
// entry per initial member (Config.Peers), so that a member joining later
// learns the first configuration from the log like any other change.
// Raft cannot stop a removed member that never learned of its removal from
// campaigning among members just as stale; as etcd does, the caller should
// refuse traffic from removed members and stop a member that applies its
// own removal.
//
// §7, log compaction. The caller snapshots its state machine and tells raft
// with Compact; raft drops the entries the snapshot covers except a tail of
// CatchUpEntries (5000 by default), kept so that a follower a little behind
// catches up from the log. A follower that needs a compacted entry gets
// MsgSnap, the InstallSnapshot RPC, carrying the latest registered
// snapshot's metadata (index, term, and the membership at that index); raft
// never sees snapshot data, and the caller's transport attaches the bytes.
// The follower restores from the metadata alone (restore): it discards its
// log, hands the snapshot to its caller in Ready.Snapshot, and answers with
// its new last index; if its log already holds the snapshot's last entry it
// keeps its log and only commits. Like a conf change, the snapshot's
// membership takes effect when the caller has applied the snapshot
// (Advance); the entries committed after it are handed out only then, and
// the member does not campaign meanwhile. The
// leader's caller reports with ReportSnapshot whether the transfer worked.
//
// §8, client interaction. ReadIndex implements linearizable reads without
// writing to the log (readindex.go): the leader records its commit index,
// confirms with a heartbeat round that a quorum still follows it, and
// answers only after it has committed an entry of its term; a follower's
// request is forwarded to the leader and the answer comes back. The caller
// reads its state machine once it has applied up to the answer's index.
// Detecting duplicate client requests is the caller's job.
//
// # Refinements from the thesis
//
// Pre-vote (thesis §9.6, on by default, Config.DisablePreVote): before
// raising its term, a would-be candidate asks whether it could win. A member
// that was cut off therefore does not disrupt a healthy leader when it
// comes back (becomePreCandidate, MsgPreVote).
//
// CheckQuorum (thesis §6.2, Config.CheckQuorum): a leader that has not heard
// from a quorum within an election timeout steps down (quorumActive), and a
// member that heard from a leader within the election timeout ignores vote
// requests: a leader lease (stepNewerTerm).
//
// Leadership transfer (thesis §3.10, transfer.go): the leader stops taking
// proposals, brings the target up to date, and sends it MsgTimeoutNow; the
// target campaigns at once, past pre-vote and the lease. The leader gives up
// after an election timeout.
//
// # Membership on a restart
//
// A restarted member starts from its persisted hard state, the metadata of
// its latest snapshot, and the entries after it (Config). Its configuration
// is the snapshot's ConfState, and the caller's re-application of the
// committed conf changes after Config.Applied brings it up to date. If the
// caller's state machine is already past the snapshot, it passes the
// membership at Applied in Config.ConfState.
//
// # How it is tested
//
// Tests are named after the paper's claims (TestFollowerVotesAtMostOncePerTerm,
// TestFigure7, TestFigure8, TestLeaderCommitsEntryOnMajority...). TestSimulation
// runs seeded clusters of 3 and 5 members on a network that drops,
// duplicates, delays and reorders messages, with partitions, crashes that
// lose whatever was not fsynced, restarts from the simulated disk,
// membership changes, snapshots, reads and transfers, and checks the safety
// properties after every step:
//
//	go test ./raft -run TestSimulation -seeds=5000         # more seeds
//	go test ./raft -run TestSimulation -seed=1234 -v       # replay one, with a trace
//
// BenchmarkCommit measures entries committed per second through three
// members in memory.
package raft
