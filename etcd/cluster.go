package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"v2etcd/httpd"
	"v2etcd/kv"
	"v2etcd/peer"
)

// The membership of the cluster lives in the replicated store, in etcd's
// layout, so it is part of every snapshot and every member agrees on it at
// every index:
//
//	/0/members/<id>/raftAttributes  {"peerURLs":[...]}              (conf changes)
//	/0/members/<id>/attributes      {"name":...,"clientURLs":[...]}  (published by the member)
//	/0/removed_members/<id>         ""                               (removed IDs, for ever)
//	/0/version                      "2.3.0"                          (agreed cluster version)
//
// Writing these uses etcd indexes exactly as etcd 2.3 does, so a fresh
// one-member cluster is at index 3 before its first client write.
const (
	membersDir        = "/0/members"
	removedMembersDir = "/0/removed_members"
	versionKey        = "/0/version"
)

func raftAttributesKey(id peer.ID) string { return membersDir + "/" + id.String() + "/raftAttributes" }
func attributesKey(id peer.ID) string     { return membersDir + "/" + id.String() + "/attributes" }

type raftAttributes struct {
	PeerURLs []string `json:"peerURLs"`
}

type attributes struct {
	Name       string   `json:"name,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
}

// confChangeContext is what a conf-change entry carries besides the node
// ID: the member's peer URLs (for adds and updates).
type confChangeContext struct {
	ID       string   `json:"id"`
	PeerURLs []string `json:"peerURLs"`
}

// cluster is this member's view of the membership, kept in step with the
// store by the apply goroutine and read by everyone else.
type cluster struct {
	id peer.ID

	mu      sync.RWMutex
	members map[peer.ID]*peer.Member
	removed map[peer.ID]bool
	version string
}

func newCluster(id peer.ID) *cluster {
	return &cluster{id: id, members: map[peer.ID]*peer.Member{}, removed: map[peer.ID]bool{}}
}

// Members returns copies of the members, sorted by ID.
func (c *cluster) Members() []*peer.Member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ms := make([]*peer.Member, 0, len(c.members))
	for _, m := range c.members {
		ms = append(ms, m.Clone())
	}
	slices.SortFunc(ms, func(a, b *peer.Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return ms
}

// Member returns a copy of member id, or nil.
func (c *cluster) Member(id peer.ID) *peer.Member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if m := c.members[id]; m != nil {
		return m.Clone()
	}
	return nil
}

// IsRemoved reports whether id was removed from the cluster.
func (c *cluster) IsRemoved(id peer.ID) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.removed[id]
}

// Version returns the agreed cluster version, "" if not decided.
func (c *cluster) Version() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.version
}

// checkConfChange validates a membership change against the current
// membership, as etcd does when the change is applied (so every member
// decides the same way).
func (c *cluster) checkConfChange(typ confChangeKind, id peer.ID, peerURLs []string) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.removed[id] {
		return httpd.ErrMemberRemoved
	}
	switch typ {
	case confAdd:
		if c.members[id] != nil {
			return httpd.ErrIDExists
		}
		if c.urlTaken(peerURLs, 0) {
			return httpd.ErrPeerURLExists
		}
	case confRemove:
		if c.members[id] == nil {
			return httpd.ErrMemberNotFound
		}
	case confUpdate:
		if c.members[id] == nil {
			return httpd.ErrMemberNotFound
		}
		if c.urlTaken(peerURLs, id) {
			return httpd.ErrPeerURLExists
		}
	}
	return nil
}

// urlTaken reports whether a member other than except uses one of urls.
func (c *cluster) urlTaken(urls []string, except peer.ID) bool {
	for id, m := range c.members {
		if id == except {
			continue
		}
		for _, u := range m.PeerURLs.Strings() {
			if slices.Contains(urls, u) {
				return true
			}
		}
	}
	return false
}

type confChangeKind int

const (
	confAdd confChangeKind = iota
	confRemove
	confUpdate
)

// applyAdd records a new member in the store and in the view.
func (c *cluster) applyAdd(store *kv.Store, id peer.ID, peerURLs []string) error {
	urls, err := peer.NewURLs(peerURLs)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(raftAttributes{PeerURLs: urls.Strings()})
	if _, err := store.Apply(&kv.Request{Method: kv.MethodPut, Path: raftAttributesKey(id), Val: string(b), PrevExist: kv.PrevExistFalse}); err != nil {
		return err
	}
	c.mu.Lock()
	c.members[id] = &peer.Member{ID: id, PeerURLs: urls}
	c.mu.Unlock()
	return nil
}

// applyRemove deletes a member and records its ID as removed for ever.
func (c *cluster) applyRemove(store *kv.Store, id peer.ID) error {
	if _, err := store.Apply(&kv.Request{Method: kv.MethodDelete, Path: membersDir + "/" + id.String(), Dir: true, Recursive: true}); err != nil {
		return err
	}
	if _, err := store.Apply(&kv.Request{Method: kv.MethodPut, Path: removedMembersDir + "/" + id.String(), PrevExist: kv.PrevExistFalse}); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.members, id)
	c.removed[id] = true
	c.mu.Unlock()
	return nil
}

// applyUpdate changes a member's peer URLs.
func (c *cluster) applyUpdate(store *kv.Store, id peer.ID, peerURLs []string) error {
	urls, err := peer.NewURLs(peerURLs)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(raftAttributes{PeerURLs: urls.Strings()})
	if _, err := store.Apply(&kv.Request{Method: kv.MethodPut, Path: raftAttributesKey(id), Val: string(b), PrevExist: kv.PrevExistTrue}); err != nil {
		return err
	}
	c.mu.Lock()
	if m := c.members[id]; m != nil {
		m.PeerURLs = urls
	}
	c.mu.Unlock()
	return nil
}

// noteWrite updates the view after a replicated write under /0 (a member
// publishing its attributes, the cluster version being set).
func (c *cluster) noteWrite(p, value string) {
	switch {
	case p == versionKey:
		c.mu.Lock()
		c.version = value
		c.mu.Unlock()
	case strings.HasPrefix(p, membersDir+"/") && path.Base(p) == "attributes":
		id, err := peer.ParseID(path.Base(path.Dir(p)))
		if err != nil {
			return
		}
		var a attributes
		if json.Unmarshal([]byte(value), &a) != nil {
			return
		}
		urls, err := peer.NewURLs(a.ClientURLs)
		if err != nil && len(a.ClientURLs) > 0 {
			return
		}
		c.mu.Lock()
		if m := c.members[id]; m != nil {
			m.Name, m.ClientURLs = a.Name, urls
		}
		c.mu.Unlock()
	}
}

// recover rebuilds the view from the store, after a snapshot was loaded.
func (c *cluster) recover(store *kv.Store) error {
	members := map[peer.ID]*peer.Member{}
	removed := map[peer.ID]bool{}
	version := ""
	if ev, err := store.Get(membersDir, true, true); err == nil {
		for _, n := range ev.Node.Nodes {
			id, err := peer.ParseID(path.Base(n.Key))
			if err != nil {
				return fmt.Errorf("etcdserver: bad member key %q in the store", n.Key)
			}
			m := &peer.Member{ID: id}
			for _, f := range n.Nodes {
				switch path.Base(f.Key) {
				case "raftAttributes":
					var ra raftAttributes
					if err := json.Unmarshal([]byte(f.Value), &ra); err != nil {
						return fmt.Errorf("etcdserver: bad raft attributes of member %s: %w", id, err)
					}
					if m.PeerURLs, err = peer.NewURLs(ra.PeerURLs); err != nil {
						return fmt.Errorf("etcdserver: bad peer URLs of member %s: %w", id, err)
					}
				case "attributes":
					var a attributes
					if err := json.Unmarshal([]byte(f.Value), &a); err != nil {
						return fmt.Errorf("etcdserver: bad attributes of member %s: %w", id, err)
					}
					m.Name = a.Name
					m.ClientURLs, _ = peer.NewURLs(a.ClientURLs)
				}
			}
			members[id] = m
		}
	} else if !isKeyNotFound(err) {
		return err
	}
	if ev, err := store.Get(removedMembersDir, false, false); err == nil {
		for _, n := range ev.Node.Nodes {
			if id, err := peer.ParseID(path.Base(n.Key)); err == nil {
				removed[id] = true
			}
		}
	} else if !isKeyNotFound(err) {
		return err
	}
	if ev, err := store.Get(versionKey, false, false); err == nil {
		version = ev.Node.Value
	}
	c.mu.Lock()
	c.members, c.removed, c.version = members, removed, version
	c.mu.Unlock()
	return nil
}

func isKeyNotFound(err error) bool {
	var e *kv.Error
	return errors.As(err, &e) && e.Code == kv.EcodeKeyNotFound
}
