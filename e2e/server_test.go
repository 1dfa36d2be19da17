package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type node struct {
	Key           string `json:"key"`
	Value         string `json:"value"`
	ModifiedIndex uint64 `json:"modifiedIndex"`
	CreatedIndex  uint64 `json:"createdIndex"`
	TTL           int64  `json:"ttl"`
	Dir           bool   `json:"dir"`
	Nodes         []node `json:"nodes"`
}

type event struct {
	Action   string `json:"action"`
	Node     node   `json:"node"`
	PrevNode *node  `json:"prevNode"`
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	var n uint64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func decodeEvent(t *testing.T, body string) event {
	t.Helper()
	var ev event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("not an event: %q: %v", body, err)
	}
	return ev
}

// TestKillDuringWrites kills a member with SIGKILL while clients write, then
// restarts it: every write it acknowledged must be there, at the index it
// was acknowledged with.
func TestKillDuringWrites(t *testing.T) {
	m := newMember(t, "kw")
	m.startAlone(t)

	var mu sync.Mutex
	acked := map[string]uint64{} // key -> modifiedIndex acknowledged
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("c%d-%d", c, i)
				req, _ := http.NewRequest("PUT", m.clientURL+"/v2/keys/kw/"+key, strings.NewReader("value="+key))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					return // the member is gone
				}
				var ev event
				err = json.NewDecoder(resp.Body).Decode(&ev)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 201 {
					mu.Lock()
					acked[key] = ev.Node.ModifiedIndex
					mu.Unlock()
				}
			}
		}(c)
	}
	// Kill once a good number of writes were acknowledged.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged in 30 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	m.p.Kill()
	close(stop)
	wg.Wait()

	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(m.name+"="+m.peerURL)...)
	waitReady(t, m)
	code, _, body := httpDo(t, "GET", m.clientURL+"/v2/keys/kw?recursive=true", "")
	if code != 200 {
		t.Fatalf("GET after restart: %d %s", code, body)
	}
	got := map[string]node{}
	for _, n := range decodeEvent(t, body).Node.Nodes {
		got[strings.TrimPrefix(n.Key, "/kw/")] = n
	}
	for key, idx := range acked {
		n, ok := got[key]
		if !ok {
			t.Errorf("acknowledged write %s (index %d) is missing after the restart", key, idx)
		} else if n.ModifiedIndex != idx || n.Value != key {
			t.Errorf("%s: got value %q index %d, acknowledged index %d", key, n.Value, n.ModifiedIndex, idx)
		}
	}
	t.Logf("%d acknowledged writes, %d keys after restart", len(acked), len(got))
}

// TestRestartAfterSnapshot writes past several snapshots, stops the member,
// and checks the restart serves the same data, indexes and history.
func TestRestartAfterSnapshot(t *testing.T) {
	m := newMember(t, "snap")
	m.startAlone(t, "--snapshot-count", "50", "--max-snapshots", "2", "--max-wals", "2")
	var last string
	for i := 0; i < 400; i++ {
		code, _, body := httpDo(t, "PUT", fmt.Sprintf("%s/v2/keys/s/k%03d", m.clientURL, i), fmt.Sprintf("value=v%d", i))
		if code != 201 {
			t.Fatalf("PUT %d: %d %s", i, code, body)
		}
		last = body
	}
	_, _, before := httpDo(t, "GET", m.clientURL+"/v2/keys/s?recursive=true&sorted=true", "")
	_, hdr, _ := httpDo(t, "GET", m.clientURL+"/v2/keys/s/k000", "")
	indexBefore := hdr.Get("X-Etcd-Index")

	snaps, _ := filepath.Glob(filepath.Join(m.dataDir, "member", "snap", "*.snap"))
	if len(snaps) == 0 || len(snaps) > 2 {
		t.Errorf("snapshot files: %v, want 1 or 2 (--max-snapshots 2)", snaps)
	}
	m.p.Stop()

	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(m.name+"="+m.peerURL, "--snapshot-count", "50")...)
	waitReady(t, m)
	_, _, after := httpDo(t, "GET", m.clientURL+"/v2/keys/s?recursive=true&sorted=true", "")
	if after != before {
		t.Errorf("data differs after restart:\nbefore %.300s\nafter  %.300s", before, after)
	}
	// A member republishes its name and client URLs on every start, as etcd
	// does: that write takes exactly one more etcd index.
	_, hdr, _ = httpDo(t, "GET", m.clientURL+"/v2/keys/s/k000", "")
	if want := fmt.Sprint(atoi(t, indexBefore) + 1); hdr.Get("X-Etcd-Index") != want {
		t.Errorf("X-Etcd-Index %s after restart, %s before: want %s", hdr.Get("X-Etcd-Index"), indexBefore, want)
	}
	// The event history survives too: a watch from the past finds the last write.
	lastIdx := decodeEvent(t, last).Node.ModifiedIndex
	_, _, w := httpDo(t, "GET", fmt.Sprintf("%s/v2/keys/s/k399?wait=true&waitIndex=%d", m.clientURL, lastIdx), "")
	if ev := decodeEvent(t, w); ev.Node.Key != "/s/k399" || ev.Node.ModifiedIndex != lastIdx {
		t.Errorf("history watch after restart: %s", w)
	}
}

// TestTTLExpiry sets a key with a TTL and watches it expire through the
// leader's SYNC entries.
func TestTTLExpiry(t *testing.T) {
	m := newMember(t, "ttl")
	m.startAlone(t)
	code, _, body := httpDo(t, "PUT", m.clientURL+"/v2/keys/lease", "value=x&ttl=1")
	if code != 201 || !strings.Contains(body, `"ttl":1`) {
		t.Fatalf("PUT with ttl: %d %s", code, body)
	}
	set := decodeEvent(t, body)
	_, _, w := httpDo(t, "GET", fmt.Sprintf("%s/v2/keys/lease?wait=true&waitIndex=%d", m.clientURL, set.Node.ModifiedIndex+1), "")
	ev := decodeEvent(t, w)
	if ev.Action != "expire" || ev.Node.Key != "/lease" || ev.PrevNode == nil || ev.PrevNode.Value != "x" {
		t.Errorf("expire event: %s", w)
	}
	if code, _, body = httpDo(t, "GET", m.clientURL+"/v2/keys/lease", ""); code != 404 {
		t.Errorf("GET after expiry: %d %s", code, body)
	}
}

// TestGracefulStop sends SIGTERM: an open watch ends with its 200 and no
// event, and the process exits.
func TestGracefulStop(t *testing.T) {
	m := newMember(t, "stop")
	m.startAlone(t)
	resp, err := http.Get(m.clientURL + "/v2/keys/w?wait=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("watch: %d", resp.StatusCode)
	}
	m.p.Stop()
	rest, err := bufio.NewReader(resp.Body).ReadString('\n')
	if rest != "" {
		t.Errorf("watch got %q after the server stopped, want nothing (err %v)", rest, err)
	}
	if _, err := os.Stat(filepath.Join(m.dataDir, "member", "wal")); err != nil {
		t.Errorf("no WAL directory after a stop: %v", err)
	}
}
