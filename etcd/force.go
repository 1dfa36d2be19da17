package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"v2etcd/peer"
	"v2etcd/raft"
)

// forceNewCluster turns a restarted member's log into that of a one-member
// cluster, keeping its data (--force-new-cluster, spec §3.7), for disaster
// recovery when a quorum is lost for good or when starting from a backup:
//
//  1. entries after the commit index are discarded (they were never
//     acknowledged to any client);
//  2. one committed conf change per other member removes it;
//  3. if this member is not in the membership (a backup gets a new member
//     ID), a conf change adds it with --initial-advertise-peer-urls.
//
// The new entries are written to the WAL before raft starts, so the change
// survives a crash; applying them updates the store, the membership view
// and raft's configuration as for any other change. Each restart that keeps
// the flag removes the other members again, as in etcd.
func forceNewCluster(st *memberState, cfg *Config, log *slog.Logger) error {
	hs, ents := st.raft.HardState, st.raft.Entries
	last := st.snapIndex
	kept := ents[:0:0]
	for _, e := range ents {
		if e.Index <= hs.Commit {
			kept = append(kept, e)
			last = e.Index
		}
	}
	if n := len(ents) - len(kept); n > 0 {
		log.Info(fmt.Sprintf("discarding %d uncommitted WAL entries", n))
	}
	voters := votersAt(st.confState, kept)
	var forced []raft.Entry
	appendCC := func(cc raft.ConfChange) {
		last++
		forced = append(forced, raft.Entry{Term: hs.Term, Index: last, Type: raft.EntryConfChange, Data: cc.AppendTo(nil)})
	}
	for _, id := range voters {
		if peer.ID(id) != st.id {
			ctx, _ := json.Marshal(confChangeContext{ID: peer.ID(id).String()})
			appendCC(raft.ConfChange{Type: raft.ConfChangeRemoveNode, NodeID: id, Context: ctx})
		}
	}
	if !slices.Contains(voters, uint64(st.id)) {
		urls := cfg.InitialAdvertisePeerURLs.Strings()
		ctx, _ := json.Marshal(confChangeContext{ID: st.id.String(), PeerURLs: urls})
		appendCC(raft.ConfChange{Type: raft.ConfChangeAddNode, NodeID: uint64(st.id), Context: ctx})
	}
	if hs.Term == 0 {
		hs.Term = 1
		for i := range forced {
			forced[i].Term = 1
		}
	}
	hs.Commit = last
	if err := st.wal.Save(hs, forced); err != nil {
		return err
	}
	st.raft.HardState, st.raft.Entries = hs, append(kept, forced...)
	log.Info(fmt.Sprintf("forcing restart of member %s in cluster %s at commit index %d", st.id, st.clusterID, hs.Commit))
	return nil
}

// votersAt is the configuration after the conf changes among ents, starting
// from cs (the snapshot's): every add and remove, in log order.
func votersAt(cs raft.ConfState, ents []raft.Entry) []uint64 {
	voters := slices.Clone(cs.Voters)
	for _, e := range ents {
		if e.Type != raft.EntryConfChange {
			continue
		}
		var cc raft.ConfChange
		if cc.Unmarshal(e.Data) != nil {
			continue
		}
		switch cc.Type {
		case raft.ConfChangeAddNode:
			if !slices.Contains(voters, cc.NodeID) {
				voters = append(voters, cc.NodeID)
			}
		case raft.ConfChangeRemoveNode:
			voters = slices.DeleteFunc(voters, func(v uint64) bool { return v == cc.NodeID })
		}
	}
	slices.Sort(voters)
	return voters
}
