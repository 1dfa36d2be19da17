package main

import (
	"time"

	"v2etcd/peer"
	"v2etcd/raft"
)

// transport carries raft messages to the other members. The raft loop calls
// Send and never blocks on it; the apply goroutine keeps the peer set in
// step with the membership.
type transport interface {
	// Send queues messages for their members; a message to an unknown or
	// unreachable member is dropped (raft retries).
	Send(msgs []raft.Message)
	// SetPeers replaces the peer set with members other than self.
	SetPeers(members []*peer.Member, self peer.ID)
	AddPeer(id peer.ID, urls []string)
	RemovePeer(id peer.ID)
	UpdatePeer(id peer.ID, urls []string)
	// ActiveSince is when id became reachable, or zero when it is not.
	ActiveSince(id peer.ID) time.Time
	Stop()
}
