package main

import (
	"sync"
	"time"

	"v2etcd/peer"
	"v2etcd/raft"
)

// serverStats are what /v2/stats/self and /v2/stats/leader show: this
// member's role and leader, kept here, and the traffic figures the
// transport records (peer.Stats), which also renders both bodies.
type serverStats struct {
	name      string
	id        peer.ID
	startTime time.Time
	traffic   *peer.Stats // set by start

	mu          sync.Mutex
	state       string
	leader      peer.ID
	leaderSince time.Time
}

func newServerStats(name string, id peer.ID, start time.Time) *serverStats {
	// Before any leader is seen, etcd counts the leader's uptime from the
	// process start.
	return &serverStats{name: name, id: id, startTime: start, state: "StateFollower", leaderSince: start}
}

// setState records a role or leader change.
func (st *serverStats) setState(role raft.Role, leader peer.ID) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch role {
	case raft.Leader:
		st.state = "StateLeader"
	case raft.Candidate:
		st.state = "StateCandidate"
	default:
		st.state = "StateFollower"
	}
	if leader != st.leader && leader != 0 {
		st.leader, st.leaderSince = leader, time.Now()
	}
}

func (st *serverStats) selfJSON() []byte {
	st.mu.Lock()
	info := peer.SelfInfo{Name: st.name, ID: st.id, State: st.state, StartTime: st.startTime, Leader: st.leader, LeaderSince: st.leaderSince}
	st.mu.Unlock()
	return st.traffic.SelfJSON(info)
}

// leaderJSON renders /v2/stats/leader; only a leader has one.
func (st *serverStats) leaderJSON(isLeader bool) ([]byte, bool) {
	if !isLeader {
		return nil, false
	}
	return st.traffic.LeaderJSON(st.id), true
}
