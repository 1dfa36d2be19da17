package raft

import "fmt"

// None is the member ID that means "nobody": no vote cast, no leader known.
const None uint64 = 0

// EntryType says how the state machine reads an entry's Data.
type EntryType uint8

const (
	// EntryNormal carries an opaque command for the state machine, or nothing
	// at all: the empty entry a new leader appends to commit its term (§5.4.2).
	EntryNormal EntryType = 0
	// EntryConfChange carries an encoded ConfChange (§6).
	EntryConfChange EntryType = 1
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "EntryNormal"
	case EntryConfChange:
		return "EntryConfChange"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one slot of the replicated log (Figure 2: log[]). Index starts at 1.
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// HardState is what a member must persist before it answers any message
// (Figure 2, "persistent state on all servers": currentTerm and votedFor).
// Commit is persisted too, so a restarted member knows how far it may apply
// without waiting to hear from a leader.
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsEmpty reports whether hs is the zero HardState.
func (hs HardState) IsEmpty() bool { return hs == HardState{} }

// ConfState is a membership configuration: the IDs of the voting members.
// It travels in snapshot metadata, so a member restored from a snapshot knows
// the configuration at that point of the log (§7).
type ConfState struct {
	Voters []uint64
}

// SnapshotMetadata says where in the log a snapshot was taken: the index and
// term of the last entry it covers, and the membership at that point.
type SnapshotMetadata struct {
	Index     uint64
	Term      uint64
	ConfState ConfState
}

// Snapshot is a state-machine snapshot. Raft never looks inside Data; the
// caller may leave it empty in messages and stream the bytes some other way.
type Snapshot struct {
	Metadata SnapshotMetadata
	Data     []byte
}

// IsEmpty reports whether s is nil or covers no entries.
func (s *Snapshot) IsEmpty() bool { return s == nil || s.Metadata.Index == 0 }

// ConfChangeType is the kind of a single-server membership change (§6).
type ConfChangeType uint8

const (
	// ConfChangeAddNode adds a voting member.
	ConfChangeAddNode ConfChangeType = 0
	// ConfChangeRemoveNode removes a member.
	ConfChangeRemoveNode ConfChangeType = 1
	// ConfChangeUpdateNode changes nothing raft sees (for example a member's
	// URLs); it goes through the log so every member applies it in order.
	ConfChangeUpdateNode ConfChangeType = 2
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfChangeAddNode:
		return "ConfChangeAddNode"
	case ConfChangeRemoveNode:
		return "ConfChangeRemoveNode"
	case ConfChangeUpdateNode:
		return "ConfChangeUpdateNode"
	}
	return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
}

// ConfChange is the payload of an EntryConfChange entry. ID and Context are
// the caller's (for example a request ID and the new member's description);
// raft only reads Type and NodeID.
type ConfChange struct {
	ID      uint64
	Type    ConfChangeType
	NodeID  uint64
	Context []byte
}

// MessageType is the kind of a Message. Types marked "local" never cross the
// network: they are how the caller's inputs (Tick, Propose, reports) enter
// the same Step function as messages from peers.
type MessageType uint8

const (
	MsgHup            MessageType = iota // local: start an election now
	MsgBeat                              // local: leader should send heartbeats
	MsgProp                              // propose entries (a follower forwards them to the leader)
	MsgApp                               // AppendEntries RPC (§5.3)
	MsgAppResp                           // AppendEntries reply
	MsgVote                              // RequestVote RPC (§5.2)
	MsgVoteResp                          // RequestVote reply
	MsgPreVote                           // pre-vote: "would you vote for me?" (§9.6 of the thesis)
	MsgPreVoteResp                       // pre-vote reply
	MsgHeartbeat                         // empty AppendEntries carrying the commit index
	MsgHeartbeatResp                     // heartbeat reply
	MsgSnap                              // InstallSnapshot RPC (§7)
	MsgSnapStatus                        // local: the caller reports how sending a snapshot went
	MsgUnreachable                       // local: the caller reports a peer it cannot reach
	MsgTransferLeader                    // ask the leader to hand leadership to the member in Index
	MsgTimeoutNow                        // tell a member to campaign at once (leader transfer)
	MsgReadIndex                         // ReadIndex request (§6.4 of the thesis)
	MsgReadIndexResp                     // ReadIndex reply from the leader
	msgTypeCount
)

var msgTypeNames = [...]string{
	MsgHup: "MsgHup", MsgBeat: "MsgBeat", MsgProp: "MsgProp", MsgApp: "MsgApp",
	MsgAppResp: "MsgAppResp", MsgVote: "MsgVote", MsgVoteResp: "MsgVoteResp",
	MsgPreVote: "MsgPreVote", MsgPreVoteResp: "MsgPreVoteResp", MsgHeartbeat: "MsgHeartbeat",
	MsgHeartbeatResp: "MsgHeartbeatResp", MsgSnap: "MsgSnap", MsgSnapStatus: "MsgSnapStatus",
	MsgUnreachable: "MsgUnreachable", MsgTransferLeader: "MsgTransferLeader",
	MsgTimeoutNow: "MsgTimeoutNow", MsgReadIndex: "MsgReadIndex", MsgReadIndexResp: "MsgReadIndexResp",
}

func (t MessageType) String() string {
	if t < msgTypeCount {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Message is the unit of communication between members, and between the
// caller and the state machine. Which fields matter depends on Type.
type Message struct {
	Type       MessageType
	To         uint64
	From       uint64
	Term       uint64
	LogTerm    uint64 // term of the entry at Index (MsgApp, MsgVote, MsgPreVote)
	Index      uint64 // index of the entry before Entries (MsgApp), or a member's last index
	Entries    []Entry
	Commit     uint64
	Snapshot   *Snapshot // MsgSnap only
	Reject     bool
	RejectHint uint64 // on a rejected MsgAppResp: where the leader should look next
	Context    []byte // opaque to raft (ReadIndex request contexts, campaign kinds)
}
