package e2e

import (
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

// cluster is a set of members started together with --initial-cluster.
type cluster struct {
	t       *testing.T
	members []*member
	initial string
	extra   []string
}

// newCluster makes n members (not started) with fresh ports and directories.
func newCluster(t *testing.T, n int, extra ...string) *cluster {
	c := &cluster{t: t, extra: extra}
	var parts []string
	for i := 0; i < n; i++ {
		m := newMember(t, fmt.Sprintf("infra%d", i+1))
		c.members = append(c.members, m)
		parts = append(parts, m.name+"="+m.peerURL)
	}
	c.initial = strings.Join(parts, ",")
	return c
}

// startMember starts (or restarts) member i with the cluster's flags.
func (c *cluster) startMember(i int) {
	m := c.members[i]
	args := m.args(c.initial, append([]string{"--initial-cluster-token", "e2e-" + c.t.Name()}, c.extra...)...)
	m.p = startProc(c.t, c.t.TempDir(), nil, bin.etcd, args...)
}

// start starts every member and waits until each serves quorum reads.
func (c *cluster) start() {
	for i := range c.members {
		c.startMember(i)
	}
	for _, m := range c.members {
		waitReady(c.t, m)
	}
}

// leader returns the index of the member every live member names as
// leader, waiting until they agree on one of themselves (right after a
// leader dies, the others still name it for up to an election timeout).
func (c *cluster) leader(live ...int) int {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids := map[string]bool{}
		leaderName := ""
		for _, i := range live {
			code, _, body := httpGetQuiet(c.members[i].clientURL + "/v2/members/leader")
			if code != 200 {
				ids["none"] = true
				continue
			}
			var m struct{ ID, Name string }
			json.Unmarshal([]byte(body), &m)
			ids[m.ID] = true
			leaderName = m.Name
		}
		if len(ids) == 1 && !ids["none"] {
			for _, i := range live {
				if c.members[i].name == leaderName {
					return i
				}
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("members %v do not agree on a leader: %v", live, ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpGetQuiet is a GET that reports failure as status 0 instead of failing the test.
func httpGetQuiet(url string) (int, http.Header, string) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, ""
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

// put writes key=value through member m and returns the acknowledged index.
func put(t *testing.T, m *member, key, value string) uint64 {
	t.Helper()
	code, _, body := httpDo(t, "PUT", m.clientURL+"/v2/keys/"+key, "value="+value)
	if code != 200 && code != 201 {
		t.Fatalf("PUT %s on %s: %d %s", key, m.name, code, body)
	}
	return decodeEvent(t, body).Node.ModifiedIndex
}

// quorumGet reads key through member m with quorum=true.
func quorumGet(t *testing.T, m *member, key string) (int, node) {
	t.Helper()
	code, _, body := httpDo(t, "GET", m.clientURL+"/v2/keys/"+key+"?quorum=true&recursive=true&sorted=true", "")
	if code != 200 {
		return code, node{}
	}
	return code, decodeEvent(t, body).Node
}

// sameEverywhere checks that every live member serves the same tree under
// dir after a quorum read.
func (c *cluster) sameEverywhere(dir string, live ...int) string {
	c.t.Helper()
	var first string
	for _, i := range live {
		code, _, body := httpDo(c.t, "GET", c.members[i].clientURL+"/v2/keys/"+dir+"?quorum=true&recursive=true&sorted=true", "")
		if code != 200 {
			c.t.Fatalf("%s: quorum read of /%s: %d %s", c.members[i].name, dir, code, body)
		}
		n := decodeEvent(c.t, body).Node
		b, _ := json.Marshal(n)
		if first == "" {
			first = string(b)
		} else if string(b) != first {
			c.t.Errorf("%s serves a different /%s:\n%s\nwant\n%s", c.members[i].name, dir, b, first)
		}
	}
	return first
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestCluster3(t *testing.T) {
	c := newCluster(t, 3)
	c.start()

	// Writes through every member; every member reads them all.
	for i, m := range c.members {
		for j := 0; j < 5; j++ {
			put(t, m, fmt.Sprintf("d/from%d-%d", i, j), "v")
		}
	}
	c.sameEverywhere("d", all(3)...)

	// member list: three started members, one leader.
	out, errOut, code := etcdctl(t, nil, "--endpoints", c.members[0].clientURL, "member", "list")
	if code != 0 || strings.Count(out, "isLeader=true") != 1 || strings.Count(out, "name=infra") != 3 {
		t.Errorf("member list (exit %d):\n%s%s", code, out, errOut)
	}
	// Local reads on followers serve the same data once they applied it.
	lead := c.leader(all(3)...)
	for i, m := range c.members {
		if i == lead {
			continue
		}
		code, _, body := httpDo(t, "GET", m.clientURL+"/v2/stats/leader", "")
		if code != 403 || body != `{"message":"not current leader"}` {
			t.Errorf("stats/leader on a follower: %d %s", code, body)
		}
	}
	code2, _, body := httpDo(t, "GET", c.members[lead].clientURL+"/v2/stats/leader", "")
	if code2 != 200 || strings.Count(body, `"counts"`) != 2 {
		t.Errorf("stats/leader on the leader: %d %s", code2, body)
	}
}

// TestClusterKillLeader kills the leader of a 3-member cluster with SIGKILL:
// a new leader is elected, writes go on, and the old leader catches up after
// a restart.
func TestClusterKillLeader(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	lead := c.leader(all(3)...)
	for i := 0; i < 20; i++ {
		put(t, c.members[i%3], fmt.Sprintf("k/%02d", i), "before")
	}
	c.members[lead].p.Kill()
	var live []int
	for i := range c.members {
		if i != lead {
			live = append(live, i)
		}
	}
	start := time.Now()
	newLead := c.leader(live...)
	if newLead == lead {
		t.Fatal("the killed member is still named leader")
	}
	t.Logf("new leader after %v", time.Since(start))
	for i := 20; i < 40; i++ {
		put(t, c.members[live[i%2]], fmt.Sprintf("k/%02d", i), "after")
	}
	c.startMember(lead)
	waitReady(t, c.members[lead])
	c.sameEverywhere("k", all(3)...)
}

// TestClusterSnapshotCatchUp keeps a follower down while the others write
// past the log tail the leader keeps (5000 entries), with small snapshots:
// the follower can only catch up from a snapshot.
func TestClusterSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, 3, "--snapshot-count", "500")
	c.start()
	lead := c.leader(all(3)...)
	down := (lead + 1) % 3
	up := (lead + 2) % 3
	c.members[down].p.Kill()

	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; i < 400; i++ {
				m := c.members[[]int{lead, up}[i%2]]
				req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v2/keys/bulk/w%02d-%03d", m.clientURL, w, i), strings.NewReader("value=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 201 {
					errc <- fmt.Errorf("PUT: %d", resp.StatusCode)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	c.startMember(down)
	waitReady(t, c.members[down])
	c.sameEverywhere("bulk", all(3)...)
	if !strings.Contains(c.members[down].p.out.String(), "loaded a snapshot from the leader") {
		t.Errorf("the follower caught up without a snapshot:\n%s", c.members[down].p.out.String())
	}
}

// TestClusterMajorityDown stops two members of three: a write then fails with
// etcd's timeout error and nothing acknowledged is lost; once they are back
// the cluster takes writes again.
func TestClusterMajorityDown(t *testing.T) {
	c := newCluster(t, 3, "--heartbeat-interval", "50", "--election-timeout", "500")
	c.start()
	acked := map[string]uint64{}
	for i := 0; i < 10; i++ {
		key := fmt.Sprintf("m/%d", i)
		acked[key] = put(t, c.members[i%3], key, "v")
	}
	c.members[1].p.Kill()
	c.members[2].p.Kill()
	start := time.Now()
	code, _, body := httpDo(t, "PUT", c.members[0].clientURL+"/v2/keys/m/lost", "value=x")
	want := `{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}` + "\n"
	if code != 500 || body != want {
		t.Errorf("write without quorum: %d %q, want 500 %q", code, body, want)
	}
	if d := time.Since(start); d < 5*time.Second {
		t.Errorf("the write failed after %v, before the 6 s request timeout", d)
	}
	c.startMember(1)
	c.startMember(2)
	for _, m := range c.members {
		waitReady(t, m)
	}
	put(t, c.members[0], "m/again", "v")
	for key, idx := range acked {
		for _, m := range c.members {
			code, n := quorumGet(t, m, key)
			if code != 200 || n.ModifiedIndex != idx {
				t.Errorf("%s on %s: %d index %d, acknowledged %d", key, m.name, code, n.ModifiedIndex, idx)
			}
		}
	}
}

func TestCluster5(t *testing.T) {
	c := newCluster(t, 5)
	c.start()
	for i, m := range c.members {
		put(t, m, fmt.Sprintf("five/%d", i), "v")
	}
	lead := c.leader(all(5)...)
	c.members[lead].p.Kill()
	var live []int
	for i := range c.members {
		if i != lead {
			live = append(live, i)
		}
	}
	c.leader(live...)
	for _, i := range live {
		put(t, c.members[i], fmt.Sprintf("five/after%d", i), "v")
	}
	c.startMember(lead)
	waitReady(t, c.members[lead])
	c.sameEverywhere("five", all(5)...)
}

// TestClusterStartErrors starts members whose flags cannot make a cluster.
func TestClusterStartErrors(t *testing.T) {
	c := newCluster(t, 3)
	c.start()

	// A name that is not in --initial-cluster.
	m := newMember(t, "infra4")
	p := startProc(t, t.TempDir(), nil, bin.etcd, m.args(c.initial, "--initial-cluster-token", "e2e-"+t.Name())...)
	if code := p.waitExit(20 * time.Second); code != 1 {
		t.Errorf("name not in the initial cluster: exit %d", code)
	}
	if want := `couldn't find local name "infra4" in the initial cluster configuration`; !strings.Contains(p.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, p.out.String())
	}

	// Advertised peer URLs that do not match the member's entry.
	p = startProc(t, t.TempDir(), nil, bin.etcd, m.args("infra4=http://127.0.0.1:1")...)
	if code := p.waitExit(20 * time.Second); code != 1 {
		t.Errorf("advertise mismatch: exit %d", code)
	}
	if want := "--initial-cluster must include infra4=" + m.peerURL + " given --initial-advertise-peer-urls=" + m.peerURL; !strings.Contains(p.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, p.out.String())
	}

	// A member that lost its data directory cannot bootstrap again.
	lost := c.members[2]
	lost.p.Kill()
	if err := os.RemoveAll(lost.dataDir); err != nil {
		t.Fatal(err)
	}
	c.startMember(2)
	if code := lost.p.waitExit(20 * time.Second); code != 1 {
		t.Errorf("re-bootstrap of a started member: exit %d", code)
	}
	if !strings.Contains(lost.p.out.String(), "has already been bootstrapped") {
		t.Errorf("output lacks the already-bootstrapped error:\n%s", lost.p.out.String())
	}
	if _, err := os.Stat(filepath.Join(lost.dataDir, "member", "wal")); err == nil {
		t.Errorf("a refused bootstrap left a WAL behind")
	}
}

// TestClusterWrongToken starts one member of three with another
// --initial-cluster-token: it forms a different cluster ID, the others
// refuse its traffic (412, logged on both sides), and the two good members
// still form a cluster.
func TestClusterWrongToken(t *testing.T) {
	c := newCluster(t, 3)
	c.startMember(0)
	c.startMember(1)
	bad := c.members[2]
	bad.p = startProc(t, t.TempDir(), nil, bin.etcd, bad.args(c.initial, "--initial-cluster-token", "other-token")...)
	waitReady(t, c.members[0])
	waitReady(t, c.members[1])
	put(t, c.members[0], "tok", "v")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.members[0].p.out.String()+c.members[1].p.out.String(), "request cluster ID mismatch") ||
		!strings.Contains(bad.p.out.String(), "cluster ID mismatch") {
		if time.Now().After(deadline) {
			t.Fatalf("no cluster ID mismatch logged:\n%s\n---\n%s", c.members[0].p.out.String(), bad.p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if bad.p.Exited() {
		t.Errorf("the member with the wrong token exited; etcd keeps it running")
	}
	if code, _, body := httpGetQuiet(bad.clientURL + "/health"); code != 503 {
		t.Errorf("health of the member with the wrong token: %d %s", code, body)
	}
}

// TestClusterPeerTLS runs a 3-member cluster over https peer URLs with
// client certificates required between members.
func TestClusterPeerTLS(t *testing.T) {
	pki := newTestPKI(t)
	c := newCluster(t, 3)
	var parts []string
	for _, m := range c.members {
		m.peerURL = strings.Replace(m.peerURL, "http://", "https://", 1)
		parts = append(parts, m.name+"="+m.peerURL)
	}
	c.initial = strings.Join(parts, ",")
	for i, m := range c.members {
		cert, key := pki.issue(t, m.name)
		args := m.args(c.initial, "--initial-cluster-token", "e2e-tls",
			"--peer-cert-file", cert, "--peer-key-file", key,
			"--peer-trusted-ca-file", pki.caFile, "--peer-client-cert-auth")
		c.members[i].p = startProc(t, t.TempDir(), nil, bin.etcd, args...)
	}
	for _, m := range c.members {
		waitReady(t, m)
	}
	for i, m := range c.members {
		put(t, m, fmt.Sprintf("tls/%d", i), "v")
	}
	c.sameEverywhere("tls", all(3)...)
	// A plain client without a certificate cannot talk to the peer port.
	if resp, err := http.Get(strings.Replace(c.members[0].peerURL, "https://", "http://", 1) + "/members"); err == nil {
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to a TLS peer port was served")
		}
		resp.Body.Close()
	}
}

// TestClusterQuorumReadsEverywhere sends concurrent quorum reads through
// every member at once. Each member batches its reads into ReadIndex
// requests that followers forward to the leader; batches of different
// members must never be confused (they once were, and reads timed out).
func TestClusterQuorumReadsEverywhere(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	put(t, c.members[0], "q", "v")
	var wg sync.WaitGroup
	errc := make(chan string, 24)
	for w := 0; w < 24; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			m := c.members[w%3]
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; i < 50; i++ {
				resp, err := client.Get(m.clientURL + "/v2/keys/q?quorum=true")
				if err != nil {
					errc <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errc <- fmt.Sprintf("%s: %d", m.name, resp.StatusCode)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Error(e)
	}
}
