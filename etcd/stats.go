package main

import (
	"encoding/json"
	"sync"
	"time"

	"v2etcd/peer"
	"v2etcd/raft"
)

// serverStats are the numbers /v2/stats/self and /v2/stats/leader show.
type serverStats struct {
	name      string
	id        peer.ID
	startTime time.Time

	mu          sync.Mutex
	state       string
	leader      peer.ID
	leaderSince time.Time
	recvAppends uint64
	sendAppends uint64
}

func newServerStats(name string, id peer.ID, start time.Time) *serverStats {
	return &serverStats{name: name, id: id, startTime: start, state: "StateFollower"}
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
	if leader != st.leader {
		st.leader, st.leaderSince = leader, time.Now()
	}
}

// selfJSON renders /v2/stats/self in etcd's field order.
func (st *serverStats) selfJSON() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	type leaderInfo struct {
		Leader    string    `json:"leader"`
		Uptime    string    `json:"uptime"`
		StartTime time.Time `json:"startTime"`
	}
	v := struct {
		Name        string     `json:"name"`
		ID          string     `json:"id"`
		State       string     `json:"state"`
		StartTime   time.Time  `json:"startTime"`
		LeaderInfo  leaderInfo `json:"leaderInfo"`
		RecvAppends uint64     `json:"recvAppendRequestCnt"`
		SendAppends uint64     `json:"sendAppendRequestCnt"`
	}{
		Name: st.name, ID: st.id.String(), State: st.state, StartTime: st.startTime,
		RecvAppends: st.recvAppends, SendAppends: st.sendAppends,
	}
	if st.leader != 0 {
		v.LeaderInfo = leaderInfo{Leader: st.leader.String(), Uptime: time.Since(st.leaderSince).String(), StartTime: st.leaderSince}
	}
	b, _ := json.Marshal(v)
	return b
}

// leaderJSON renders /v2/stats/leader; only a leader has one.
func (st *serverStats) leaderJSON(isLeader bool) ([]byte, bool) {
	if !isLeader {
		return nil, false
	}
	b, _ := json.Marshal(struct {
		Leader    string         `json:"leader"`
		Followers map[string]any `json:"followers"`
	}{st.id.String(), map[string]any{}})
	return b, true
}
