package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// Defaults used for the zero values of Config's tuning fields.
const (
	DefaultElectionTick    = 10
	DefaultHeartbeatTick   = 1
	DefaultMaxSizePerMsg   = 1 << 20
	DefaultMaxInflightMsgs = 256
	DefaultCatchUpEntries  = 5000
)

// Config describes a member: who it is, how it behaves, and (on a restart)
// the state it persisted before. The zero value of each tuning field picks
// the default above; the zero Config is not valid only because ID is zero.
type Config struct {
	// ID identifies this member; it must not be zero (None).
	ID uint64

	// Peers lists the voting members of a brand-new cluster, this member
	// included. Raft then starts the log with one committed ConfChangeAddNode
	// entry per peer, at term 1 and in increasing ID order, so that every
	// member of the new cluster starts from the same log and a member that
	// joins later learns the first configuration from the log like any
	// other change. These entries come out of the first Ready, to persist and
	// apply like any others; the member campaigns only once they are applied.
	// Peers must be empty when restarting (the restart fields
	// below are set) or when joining an existing cluster (everything
	// empty: the member waits for the leader to send it the log or a
	// snapshot, and never campaigns until it is part of a configuration).
	Peers []uint64

	// ElectionTick is the election timeout T in ticks: a follower that hears
	// nothing from a leader for a random number of ticks in [T, 2T) starts
	// an election (§5.2). HeartbeatTick is how often, in ticks, a leader
	// sends heartbeats. ElectionTick must be greater than HeartbeatTick.
	ElectionTick  int
	HeartbeatTick int

	// Seed seeds the only source of randomness, the election timeouts. The
	// source mixes in ID, so members sharing a Seed still draw different
	// timeouts.
	Seed uint64

	// MaxSizePerMsg bounds the encoded size of the entries in one append
	// message (a message always carries at least one entry if there is one
	// to send). MaxInflightMsgs bounds how many appends the leader streams
	// to a follower without an answer.
	MaxSizePerMsg   uint64
	MaxInflightMsgs int

	// CatchUpEntries is how many entries before a snapshot's index the log
	// keeps after Compact, so that a slightly slow follower can catch up
	// from the log rather than with a whole snapshot.
	CatchUpEntries uint64

	// DisablePreVote turns off the pre-vote phase (section 9.6 of Ongaro's
	// thesis). With pre-vote, a member that has been cut off asks first
	// whether it could win before it raises its term, so rejoining never
	// disrupts a healthy leader.
	DisablePreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a
	// quorum for an election timeout, and makes members that heard from a
	// leader within the last election timeout ignore votes (a leader
	// lease). Leader transfer bypasses the lease.
	CheckQuorum bool

	// The restart state, exactly as persisted from earlier Ready batches:
	// the last hard state, the metadata of the latest snapshot (nil if none),
	// and the log entries after the snapshot. Applied is the index up to
	// which the caller's state machine is already applied (0 means the
	// snapshot's index); committed entries after it come out of Ready.
	HardState HardState
	Snapshot  *SnapshotMetadata
	Entries   []Entry
	Applied   uint64
	// ConfState is the membership at Applied. Leave it nil when Applied is
	// the snapshot's index, or when no conf change was applied between the
	// snapshot and Applied: the snapshot's ConfState is then correct. Raft
	// cannot work it out itself because the caller may have declined some
	// of those changes.
	ConfState *ConfState

	// Logger receives one line per role change (became leader, stepped
	// down...) and for unusual events. nil discards them.
	Logger *slog.Logger
}

// ErrConfig is wrapped by every error New returns for an invalid Config.
var ErrConfig = errors.New("raft: invalid config")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// withDefaults returns c with zero tuning fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.ElectionTick == 0 {
		c.ElectionTick = DefaultElectionTick
	}
	if c.HeartbeatTick == 0 {
		c.HeartbeatTick = DefaultHeartbeatTick
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = DefaultMaxSizePerMsg
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = DefaultMaxInflightMsgs
	}
	if c.CatchUpEntries == 0 {
		c.CatchUpEntries = DefaultCatchUpEntries
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// restarting reports whether c carries persisted state.
func (c *Config) restarting() bool {
	return !c.HardState.IsEmpty() || c.Snapshot != nil || len(c.Entries) > 0
}

// validate checks c (with defaults applied) and returns the restart entries
// that follow the snapshot.
func (c *Config) validate() ([]Entry, error) {
	switch {
	case c.ID == None:
		return nil, configErr("ID must not be zero")
	case c.ElectionTick < 0 || c.HeartbeatTick <= 0:
		return nil, configErr("ElectionTick %d and HeartbeatTick %d must be positive", c.ElectionTick, c.HeartbeatTick)
	case c.ElectionTick <= c.HeartbeatTick:
		return nil, configErr("ElectionTick %d must be greater than HeartbeatTick %d", c.ElectionTick, c.HeartbeatTick)
	case c.MaxInflightMsgs < 0:
		return nil, configErr("MaxInflightMsgs %d must not be negative", c.MaxInflightMsgs)
	}
	if len(c.Peers) > 0 {
		if c.restarting() || c.Applied != 0 || c.ConfState != nil {
			return nil, configErr("Peers (a new cluster) and restart state are mutually exclusive")
		}
		if !slices.Contains(c.Peers, c.ID) {
			return nil, configErr("Peers %v do not include this member's ID %x", c.Peers, c.ID)
		}
		seen := make(map[uint64]bool, len(c.Peers))
		for _, id := range c.Peers {
			if id == None || seen[id] {
				return nil, configErr("Peers %v contain zero or a duplicate", c.Peers)
			}
			seen[id] = true
		}
		return nil, nil
	}

	var snapIndex, snapTerm uint64
	if c.Snapshot != nil {
		snapIndex, snapTerm = c.Snapshot.Index, c.Snapshot.Term
		if snapIndex == 0 || snapTerm == 0 {
			return nil, configErr("snapshot index %d and term %d must be positive", snapIndex, snapTerm)
		}
	}
	// Entries may overlap the snapshot (a WAL often holds a few); drop
	// those and require the rest to follow it without a gap.
	ents := c.Entries
	for len(ents) > 0 && ents[0].Index <= snapIndex {
		if ents[0].Index == snapIndex && ents[0].Term != snapTerm {
			return nil, configErr("entry %d has term %d but the snapshot says %d", snapIndex, ents[0].Term, snapTerm)
		}
		ents = ents[1:]
	}
	prevIndex, prevTerm := snapIndex, snapTerm
	for _, e := range ents {
		if e.Index != prevIndex+1 {
			return nil, configErr("entry %d follows entry %d: the log has a gap", e.Index, prevIndex)
		}
		if e.Term < prevTerm || e.Term == 0 {
			return nil, configErr("entry %d has term %d after term %d", e.Index, e.Term, prevTerm)
		}
		prevIndex, prevTerm = e.Index, e.Term
	}
	hs := c.HardState
	switch {
	case hs.Term < prevTerm:
		return nil, configErr("hard state term %d is older than the last entry's term %d", hs.Term, prevTerm)
	case hs.Commit > prevIndex:
		return nil, configErr("hard state commit %d is past the last entry %d", hs.Commit, prevIndex)
	case c.Applied != 0 && c.Applied < snapIndex:
		return nil, configErr("applied %d is below the snapshot index %d", c.Applied, snapIndex)
	case c.Applied > max(hs.Commit, snapIndex):
		return nil, configErr("applied %d is past the commit index %d", c.Applied, max(hs.Commit, snapIndex))
	}
	if c.ConfState == nil {
		for _, e := range ents {
			if e.Index <= c.Applied && e.Type == EntryConfChange {
				return nil, configErr("entry %d, applied before the restart, changes the membership: ConfState is required", e.Index)
			}
		}
	}
	return ents, nil
}
