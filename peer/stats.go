package peer

import (
	"encoding/json"
	"math"
	"sync"
	"time"
)

// Stats holds the traffic figures /v2/stats/self and /v2/stats/leader show:
// append requests received and sent with their recent rates, and for each
// follower the latency of heartbeat round trips and the counts of
// successful and failed deliveries. A Transport records into it; the server
// renders it with SelfJSON and LeaderJSON. A Stats is safe for concurrent
// use; the zero value is not usable, call NewStats.
type Stats struct {
	now func() time.Time // time.Now; tests replace it

	mu        sync.Mutex
	recvCount uint64
	sendCount uint64
	recv      rateWindow
	send      rateWindow
	followers map[ID]*followerStats
}

// NewStats returns empty statistics.
func NewStats() *Stats {
	return &Stats{now: time.Now, followers: make(map[ID]*followerStats)}
}

// rateWindowSize is how many of the latest samples a rate is computed over.
const rateWindowSize = 200

// rateStaleAfter is how old the newest sample may be before a rate counts
// as zero: a member that stopped receiving shows no rate, not an old one.
const rateStaleAfter = time.Second

// rateWindow keeps the last rateWindowSize (time, size) samples in a ring.
type rateWindow struct {
	at    [rateWindowSize]time.Time
	size  [rateWindowSize]int
	next  int // where the next sample goes
	n     int // samples held, at most rateWindowSize
	bytes int // sum of the sizes held
}

func (w *rateWindow) add(t time.Time, size int) {
	if w.n == rateWindowSize {
		w.bytes -= w.size[w.next]
	} else {
		w.n++
	}
	w.at[w.next], w.size[w.next] = t, size
	w.bytes += size
	w.next = (w.next + 1) % rateWindowSize
}

// rates returns requests and bytes per second over the samples held: their
// number (and total size) divided by the time from the oldest to the
// newest. They are zero with fewer than two samples, or when the newest is
// more than rateStaleAfter older than now.
func (w *rateWindow) rates(now time.Time) (pkg, bw float64) {
	if w.n < 2 {
		return 0, 0
	}
	newest := w.at[(w.next+rateWindowSize-1)%rateWindowSize]
	oldest := w.at[(w.next+rateWindowSize-w.n)%rateWindowSize]
	if now.Sub(newest) > rateStaleAfter {
		return 0, 0
	}
	d := newest.Sub(oldest).Seconds()
	if d <= 0 {
		return 0, 0
	}
	return float64(w.n) / d, float64(w.bytes) / d
}

// recvAppend records an append request of size bytes received.
func (s *Stats) recvAppend(size int) {
	now := s.now()
	s.mu.Lock()
	s.recvCount++
	s.recv.add(now, size)
	s.mu.Unlock()
}

// sendAppends records append requests sent, one per size.
func (s *Stats) sendAppends(sizes []int) {
	if len(sizes) == 0 {
		return
	}
	now := s.now()
	s.mu.Lock()
	for _, n := range sizes {
		s.sendCount++
		s.send.add(now, n)
	}
	s.mu.Unlock()
}

// follower returns the statistics of follower id, creating them if needed.
func (s *Stats) follower(id ID) *followerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.followers[id]
	if fs == nil {
		fs = &followerStats{now: s.now, min: minLatencyStart}
		s.followers[id] = fs
	}
	return fs
}

// removeFollower forgets follower id (it left the cluster).
func (s *Stats) removeFollower(id ID) {
	s.mu.Lock()
	delete(s.followers, id)
	s.mu.Unlock()
}

// SelfInfo is what the server knows about itself for /v2/stats/self.
type SelfInfo struct {
	Name      string
	ID        ID
	State     string    // "StateFollower", "StateCandidate" or "StateLeader"
	StartTime time.Time // when the process started
	// Leader is the leader as this member last saw it (0 while none was
	// seen: "leader" is then ""), and LeaderSince when it was first seen;
	// "uptime" is the time since LeaderSince. Before any leader was seen
	// etcd counts from the process start, so pass LeaderSince = StartTime.
	Leader      ID
	LeaderSince time.Time
}

// SelfJSON renders /v2/stats/self as etcd does: compact, in etcd's field
// order, no trailing newline. The rates are left out while zero.
func (s *Stats) SelfJSON(info SelfInfo) []byte {
	type leaderInfo struct {
		Leader    string    `json:"leader"`
		Uptime    string    `json:"uptime"`
		StartTime time.Time `json:"startTime"`
	}
	type self struct {
		Name              string     `json:"name"`
		ID                string     `json:"id"`
		State             string     `json:"state"`
		StartTime         time.Time  `json:"startTime"`
		LeaderInfo        leaderInfo `json:"leaderInfo"`
		RecvAppendCnt     uint64     `json:"recvAppendRequestCnt"`
		RecvPkgRate       float64    `json:"recvPkgRate,omitempty"`
		RecvBandwidthRate float64    `json:"recvBandwidthRate,omitempty"`
		SendAppendCnt     uint64     `json:"sendAppendRequestCnt"`
		SendPkgRate       float64    `json:"sendPkgRate,omitempty"`
		SendBandwidthRate float64    `json:"sendBandwidthRate,omitempty"`
	}
	now := s.now()
	v := self{
		Name: info.Name, ID: info.ID.String(), State: info.State, StartTime: info.StartTime,
		LeaderInfo: leaderInfo{Uptime: now.Sub(info.LeaderSince).String(), StartTime: info.LeaderSince},
	}
	if info.Leader != 0 {
		v.LeaderInfo.Leader = info.Leader.String()
	}
	s.mu.Lock()
	v.RecvAppendCnt, v.SendAppendCnt = s.recvCount, s.sendCount
	v.RecvPkgRate, v.RecvBandwidthRate = s.recv.rates(now)
	v.SendPkgRate, v.SendBandwidthRate = s.send.rates(now)
	s.mu.Unlock()
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: every number is finite
		panic("peer: cannot render self stats: " + err.Error())
	}
	return b
}

// LeaderJSON renders /v2/stats/leader for a member that is the leader, as
// etcd does: {"leader":"<id>","followers":{"<id>":{"latency":{...},
// "counts":{...}}}}, followers sorted by hex ID, no trailing newline.
// Every peer of the transport is listed, with zero figures until measured.
func (s *Stats) LeaderJSON(leader ID) []byte {
	type latency struct {
		Current           float64 `json:"current"`
		Average           float64 `json:"average"`
		StandardDeviation float64 `json:"standardDeviation"`
		Minimum           float64 `json:"minimum"`
		Maximum           float64 `json:"maximum"`
	}
	type counts struct {
		Fail    uint64 `json:"fail"`
		Success uint64 `json:"success"`
	}
	type follower struct {
		Latency latency `json:"latency"`
		Counts  counts  `json:"counts"`
	}
	fm := make(map[string]follower)
	s.mu.Lock()
	for id, fs := range s.followers {
		fs.mu.Lock()
		fm[id.String()] = follower{
			Latency: latency{fs.current, fs.mean, fs.stddev(), fs.min, fs.max},
			Counts:  counts{fs.fail, fs.success},
		}
		fs.mu.Unlock()
	}
	s.mu.Unlock()
	b, err := json.Marshal(struct {
		Leader    string              `json:"leader"`
		Followers map[string]follower `json:"followers"`
	}{leader.String(), fm})
	if err != nil { // cannot happen: every number is finite
		panic("peer: cannot render leader stats: " + err.Error())
	}
	return b
}

// minLatencyStart is the minimum latency shown before the first sample:
// 2^63, as etcd shows it.
const minLatencyStart = float64(1 << 63)

// followerStats measures one follower as the leader sees it.
//
// Latency is the heartbeat round trip: from the moment the oldest heartbeat
// not yet answered was queued for the follower to the moment its next
// heartbeat response arrives. A lost heartbeat therefore shows up as the
// extra time until a later one is answered, which is the delay the leader
// really saw. Success counts those round trips; fail counts messages to the
// follower that were dropped (queue full) or could not be written.
type followerStats struct {
	now func() time.Time

	mu       sync.Mutex
	hbSent   time.Time // oldest unanswered heartbeat; zero when none
	success  uint64
	fail     uint64
	current  float64 // all latencies in milliseconds
	mean     float64
	m2       float64 // sum of squared differences from the mean (Welford)
	min, max float64
}

// heartbeatSent records that a heartbeat was queued for the follower.
func (fs *followerStats) heartbeatSent() {
	now := fs.now()
	fs.mu.Lock()
	if fs.hbSent.IsZero() {
		fs.hbSent = now
	}
	fs.mu.Unlock()
}

// heartbeatAnswered records a heartbeat response from the follower and,
// if a heartbeat was outstanding, one round trip.
func (fs *followerStats) heartbeatAnswered() {
	now := fs.now()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.hbSent.IsZero() {
		return
	}
	fs.succeed(now.Sub(fs.hbSent))
	fs.hbSent = time.Time{}
}

// succeed adds one round trip of duration d; fs.mu is held.
func (fs *followerStats) succeed(d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	fs.success++
	fs.current = ms
	fs.min = min(fs.min, ms)
	fs.max = max(fs.max, ms)
	delta := ms - fs.mean
	fs.mean += delta / float64(fs.success)
	fs.m2 += delta * (ms - fs.mean)
}

// stddev is the population standard deviation of the round trips; fs.mu
// is held.
func (fs *followerStats) stddev() float64 {
	if fs.success == 0 {
		return 0
	}
	return math.Sqrt(max(fs.m2, 0) / float64(fs.success))
}

// failed records n messages to the follower that were not delivered.
func (fs *followerStats) failed(n int) {
	fs.mu.Lock()
	fs.fail += uint64(n)
	fs.mu.Unlock()
}
