package peer

import (
	"encoding/json"
	"testing"
	"time"

	"v2etcd/raft"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }
func newStatsAt(c *fakeClock) *Stats         { s := NewStats(); s.now = c.Now; return s }

var statsEpoch = time.Date(2026, 1, 1, 10, 0, 0, 340000000, time.UTC)

func TestSelfJSON(t *testing.T) {
	info := SelfInfo{
		Name: "n1", ID: 0xddd67b312462fd7b, State: "StateLeader",
		StartTime: statsEpoch, Leader: 0xddd67b312462fd7b, LeaderSince: statsEpoch.Add(400 * time.Millisecond),
	}
	const head = `{"name":"n1","id":"ddd67b312462fd7b","state":"StateLeader","startTime":"2026-01-01T10:00:00.34Z",` +
		`"leaderInfo":{"leader":"ddd67b312462fd7b","uptime":"11m25s","startTime":"2026-01-01T10:00:00.74Z"},`
	tests := []struct {
		name   string
		record func(s *Stats, c *fakeClock)
		want   string
	}{
		{"nothing yet", func(*Stats, *fakeClock) {},
			head + `"recvAppendRequestCnt":0,"sendAppendRequestCnt":0}`},
		{"one sample has no rate", func(s *Stats, c *fakeClock) { s.sendAppends([]int{100}) },
			head + `"recvAppendRequestCnt":0,"sendAppendRequestCnt":1}`},
		{"sending", func(s *Stats, c *fakeClock) {
			// 5 appends of 100 bytes over 2 s: 2.5 per second, 250 B/s.
			for range 4 {
				s.sendAppends([]int{100})
				c.advance(500 * time.Millisecond)
			}
			s.sendAppends([]int{100})
		}, head + `"recvAppendRequestCnt":0,"sendAppendRequestCnt":5,"sendPkgRate":2.5,"sendBandwidthRate":250}`},
		{"receiving", func(s *Stats, c *fakeClock) {
			s.recvAppend(10)
			c.advance(time.Second)
			s.recvAppend(30)
		}, head + `"recvAppendRequestCnt":2,"recvPkgRate":2,"recvBandwidthRate":40,"sendAppendRequestCnt":0}`},
		{"stale after a second", func(s *Stats, c *fakeClock) {
			s.recvAppend(10)
			c.advance(time.Second)
			s.recvAppend(30)
			c.advance(time.Second + 1)
		}, head + `"recvAppendRequestCnt":2,"sendAppendRequestCnt":0}`},
		{"window of 200", func(s *Stats, c *fakeClock) {
			// 100 large old samples, then 200 one-byte ones 10 ms apart:
			// only the last 200 count, spanning 1.99 s.
			for range 100 {
				s.recvAppend(1000)
				c.advance(10 * time.Millisecond)
			}
			for range 200 {
				s.recvAppend(1)
				c.advance(10 * time.Millisecond)
			}
			c.advance(-10 * time.Millisecond)
		}, head + `"recvAppendRequestCnt":300,"recvPkgRate":100.50251256281408,"recvBandwidthRate":100.50251256281408,"sendAppendRequestCnt":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{now: statsEpoch}
			s := newStatsAt(c)
			tt.record(s, c)
			// Render 11m25s after the leader was first seen.
			info := info
			info.LeaderSince = c.now.Add(-11*time.Minute - 25*time.Second)
			got := string(s.SelfJSON(info))
			want := tt.want
			wantSince := info.LeaderSince.Format(time.RFC3339Nano)
			want = replaceOnce(want, `"startTime":"2026-01-01T10:00:00.74Z"`, `"startTime":"`+wantSince+`"`)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

func TestSelfJSONBeforeAnyLeader(t *testing.T) {
	c := &fakeClock{now: statsEpoch.Add(13 * time.Second)}
	s := newStatsAt(c)
	got := string(s.SelfJSON(SelfInfo{Name: "default", ID: 0xce2a822cea30bfca, State: "StateFollower", StartTime: statsEpoch, LeaderSince: statsEpoch}))
	want := `{"name":"default","id":"ce2a822cea30bfca","state":"StateFollower","startTime":"2026-01-01T10:00:00.34Z",` +
		`"leaderInfo":{"leader":"","uptime":"13s","startTime":"2026-01-01T10:00:00.34Z"},"recvAppendRequestCnt":0,"sendAppendRequestCnt":0}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestLeaderJSON(t *testing.T) {
	c := &fakeClock{now: statsEpoch}
	s := newStatsAt(c)
	if got, want := string(s.LeaderJSON(0xce2a822cea30bfca)), `{"leader":"ce2a822cea30bfca","followers":{}}`; got != want {
		t.Errorf("alone: got %s, want %s", got, want)
	}
	f2 := s.follower(0x32281486bd1c7d88)
	s.follower(0x3f582e92179827f)
	// Round trips of 2 ms and 4 ms; a response with no heartbeat out is
	// not one; two heartbeats before an answer count from the first.
	f2.heartbeatSent()
	c.advance(2 * time.Millisecond)
	f2.heartbeatAnswered()
	f2.heartbeatAnswered()
	f2.heartbeatSent()
	c.advance(time.Millisecond)
	f2.heartbeatSent()
	c.advance(3 * time.Millisecond)
	f2.heartbeatAnswered()
	f2.failed(3)
	want := `{"leader":"4a1ca29dba335a30","followers":{` +
		`"32281486bd1c7d88":{"latency":{"current":4,"average":3,"standardDeviation":1,"minimum":2,"maximum":4},"counts":{"fail":3,"success":2}},` +
		`"3f582e92179827f":{"latency":{"current":0,"average":0,"standardDeviation":0,"minimum":9223372036854776000,"maximum":0},"counts":{"fail":0,"success":0}}}}`
	if got := string(s.LeaderJSON(0x4a1ca29dba335a30)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	s.removeFollower(0x3f582e92179827f)
	var v struct{ Followers map[string]any }
	if err := json.Unmarshal(s.LeaderJSON(1), &v); err != nil || len(v.Followers) != 1 {
		t.Errorf("after removeFollower: %v %v", v, err)
	}
}

func TestLeaderStatsMeasureHeartbeatRoundTrips(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	connect(a, b)
	// b plays a follower: it answers every heartbeat.
	for i := 1; i <= 3; i++ {
		a.tr.Send([]raft.Message{heartbeat(1, 2, uint64(i))})
		waitFor(t, "the heartbeat", func() bool { return len(b.raft.received(1)) == i })
		b.tr.Send([]raft.Message{{Type: raft.MsgHeartbeatResp, From: 2, To: 1, Term: 1}})
		waitFor(t, "the response", func() bool { return len(a.raft.received(2)) == i })
	}
	var v struct {
		Leader    string
		Followers map[string]struct {
			Latency struct{ Current, Average, Minimum, Maximum float64 }
			Counts  struct{ Fail, Success uint64 }
		}
	}
	if err := json.Unmarshal(a.tr.Stats().LeaderJSON(1), &v); err != nil {
		t.Fatal(err)
	}
	f := v.Followers["2"]
	if v.Leader != "1" || f.Counts.Success < 3 || f.Latency.Minimum <= 0 || f.Latency.Minimum > f.Latency.Maximum ||
		f.Latency.Average < f.Latency.Minimum || f.Latency.Average > f.Latency.Maximum {
		t.Errorf("leader stats %+v", v)
	}
}
