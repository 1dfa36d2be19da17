package peer

import (
	"errors"
	"time"
)

// Member is one member of a cluster as the cluster records it.
type Member struct {
	ID         ID
	Name       string // empty until the member has published its attributes
	PeerURLs   URLs   // where other members reach it (raft traffic)
	ClientURLs URLs   // where clients reach it; empty until published
}

// ErrZeroID is returned for a member whose derived ID is 0, which etcd
// reserves for "no member".
var ErrZeroID = errors.New("peer: cannot use 0 as member id")

// NewMember returns the member named name with the given peer URLs and the ID
// MemberID derives from them, token and t (nil except for members added at
// run time). Its client URLs are empty until it publishes them.
func NewMember(name string, peerURLs URLs, token string, t *time.Time) (*Member, error) {
	id := MemberID(peerURLs, token, t)
	if id == 0 {
		return nil, ErrZeroID
	}
	return &Member{ID: id, Name: name, PeerURLs: peerURLs}, nil
}

// Clone returns a deep copy of m.
func (m *Member) Clone() *Member {
	c := *m
	c.PeerURLs = append(URLs(nil), m.PeerURLs...)
	c.ClientURLs = append(URLs(nil), m.ClientURLs...)
	return &c
}
