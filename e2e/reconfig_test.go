package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// addMember announces m to the cluster through member via etcdctl and
// returns the ETCD_INITIAL_CLUSTER value it printed.
func addMember(t *testing.T, via *member, m *member) string {
	t.Helper()
	out, errOut, code := etcdctl(t, nil, "--endpoints", via.clientURL, "member", "add", m.name, m.peerURL)
	if code != 0 {
		t.Fatalf("member add %s: exit %d\n%s%s", m.name, code, out, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "ETCD_INITIAL_CLUSTER="); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatalf("member add printed no ETCD_INITIAL_CLUSTER:\n%s", out)
	return ""
}

// startJoining starts m as a member joining a running cluster.
func startJoining(t *testing.T, m *member, initialCluster string) {
	t.Helper()
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(initialCluster, "--initial-cluster-state", "existing")...)
	waitReady(t, m)
}

// memberIDs returns name -> id of the cluster's members, as member via lists them.
func memberIDs(t *testing.T, via *member) map[string]string {
	t.Helper()
	code, _, body := httpDo(t, "GET", via.clientURL+"/v2/members", "")
	if code != 200 {
		t.Fatalf("GET /v2/members: %d %s", code, body)
	}
	var ml struct {
		Members []struct{ ID, Name string }
	}
	json.Unmarshal([]byte(body), &ml)
	ids := map[string]string{}
	for _, m := range ml.Members {
		ids[m.Name] = m.ID
	}
	return ids
}

// TestGrowAndShrink grows a one-member cluster to three and back to one,
// checking after each step that every member holds every write.
func TestGrowAndShrink(t *testing.T) {
	c := &cluster{t: t}
	first := newMember(t, "infra1")
	c.members = []*member{first}
	first.startAlone(t)
	for i := 0; i < 10; i++ {
		put(t, first, fmt.Sprintf("g/a%d", i), "v")
	}
	for _, name := range []string{"infra2", "infra3"} {
		m := newMember(t, name)
		initial := addMember(t, first, m)
		startJoining(t, m, initial)
		c.members = append(c.members, m)
		put(t, m, "g/after-"+name, "v")
		c.sameEverywhere("g", all(len(c.members))...)
	}
	ids := memberIDs(t, first)
	if len(ids) != 3 {
		t.Fatalf("members after growing: %v", ids)
	}
	// Shrink: remove infra3, then infra2; the removed members exit 0.
	for _, i := range []int{2, 1} {
		m := c.members[i]
		out, errOut, code := etcdctl(t, nil, "--endpoints", first.clientURL, "member", "remove", ids[m.name])
		if code != 0 || !strings.Contains(out, "Removed member "+ids[m.name]) {
			t.Fatalf("member remove %s: exit %d\n%s%s", m.name, code, out, errOut)
		}
		if code := m.p.waitExit(30 * time.Second); code != 0 {
			t.Errorf("removed member %s exited with %d, want 0", m.name, code)
		}
		if !strings.Contains(m.p.out.String(), "the member has been permanently removed from the cluster") {
			t.Errorf("removed member %s did not log its removal:\n%s", m.name, m.p.out.String())
		}
		c.members = c.members[:i]
		put(t, first, fmt.Sprintf("g/shrunk%d", i), "v")
	}
	if ids := memberIDs(t, first); len(ids) != 1 {
		t.Errorf("members after shrinking: %v", ids)
	}
}

// writer keeps writing unique keys through the given members until stopped,
// recording every acknowledged write with its index.
type writer struct {
	mu    sync.Mutex
	acked map[string]uint64
	stop  chan struct{}
	done  chan struct{}
}

func startWriter(t *testing.T, targets func() []*member) *writer {
	w := &writer{acked: map[string]uint64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		client := &http.Client{Timeout: 10 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			ms := targets()
			m := ms[i%len(ms)]
			key := fmt.Sprintf("w/%06d", i)
			req, _ := http.NewRequest("PUT", m.clientURL+"/v2/keys/"+key, strings.NewReader("value="+key))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			var ev event
			err = json.NewDecoder(resp.Body).Decode(&ev)
			resp.Body.Close()
			if err == nil && resp.StatusCode == 201 {
				w.mu.Lock()
				w.acked[key] = ev.Node.ModifiedIndex
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitMore waits until n more writes were acknowledged.
func (w *writer) waitMore(t *testing.T, n int) {
	t.Helper()
	target := w.count() + n
	deadline := time.Now().Add(30 * time.Second)
	for w.count() < target {
		if time.Now().After(deadline) {
			t.Fatalf("the cluster stopped taking writes: %d acknowledged, waiting for %d", w.count(), target)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish stops the writer and checks every acknowledged write on every member.
func (w *writer) finish(t *testing.T, c *cluster, live []int) {
	t.Helper()
	close(w.stop)
	<-w.done
	for _, i := range live {
		code, _, body := httpDo(t, "GET", c.members[i].clientURL+"/v2/keys/w?quorum=true&recursive=true", "")
		if code != 200 {
			t.Fatalf("%s: %d %s", c.members[i].name, code, body)
		}
		got := map[string]uint64{}
		for _, n := range decodeEvent(t, body).Node.Nodes {
			got[strings.TrimPrefix(n.Key, "/")] = n.ModifiedIndex
		}
		for k, idx := range w.acked {
			if got[k] != idx {
				t.Errorf("%s: acknowledged write %s (index %d) has index %d", c.members[i].name, k, idx, got[k])
			}
		}
	}
	t.Logf("%d acknowledged writes checked on %d members", len(w.acked), len(live))
}

// TestReconfigWalkthrough follows the runtime reconfiguration walkthrough on
// a static five-member cluster: add test6 and start it, then remove a
// member, then remove the leader, while a client keeps writing.
func TestReconfigWalkthrough(t *testing.T) {
	c := newCluster(t, 5)
	for i, m := range c.members {
		m.name = fmt.Sprintf("test%d", i+1)
	}
	c.initial = ""
	for i, m := range c.members {
		if i > 0 {
			c.initial += ","
		}
		c.initial += m.name + "=" + m.peerURL
	}
	c.start()
	var mu sync.Mutex
	live := all(5)
	targets := func() []*member {
		mu.Lock()
		defer mu.Unlock()
		var ms []*member
		for _, i := range live {
			ms = append(ms, c.members[i])
		}
		return ms
	}
	w := startWriter(t, targets)
	w.waitMore(t, 50)

	// member add test6, then start it with the printed variables.
	t6 := newMember(t, "test6")
	out, errOut, code := etcdctl(t, nil, "--endpoint", c.members[0].clientURL, "member", "add", "test6", t6.peerURL)
	if code != 0 || !strings.HasPrefix(out, "Added member named test6 with ID ") || !strings.Contains(out, `ETCD_INITIAL_CLUSTER_STATE="existing"`) {
		t.Fatalf("member add: exit %d\n%s%s", code, out, errOut)
	}
	list, _, _ := etcdctl(t, nil, "--endpoint", c.members[0].clientURL, "member", "list")
	if !strings.Contains(list, "[unstarted]: peerURLs="+t6.peerURL) {
		t.Errorf("member list before test6 starts:\n%s", list)
	}
	initial := ""
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "ETCD_INITIAL_CLUSTER="); ok {
			initial = strings.Trim(v, `"`)
		}
	}
	startJoining(t, t6, initial)
	c.members = append(c.members, t6)
	mu.Lock()
	live = append(live, 5)
	mu.Unlock()
	w.waitMore(t, 50)
	list, _, _ = etcdctl(t, nil, "--endpoint", c.members[0].clientURL, "member", "list")
	if strings.Count(list, "name=test") != 6 || strings.Contains(list, "unstarted") {
		t.Errorf("member list after test6 started:\n%s", list)
	}

	// Remove a follower, then the leader; writes go on.
	ids := memberIDs(t, c.members[0])
	lead := c.leader(all(6)...)
	follower := (lead + 1) % 6
	for _, victim := range []int{follower, lead} {
		mu.Lock()
		var rest []int
		for _, i := range live {
			if i != victim {
				rest = append(rest, i)
			}
		}
		live = rest
		mu.Unlock()
		via := c.members[rest[0]]
		out, errOut, code := etcdctl(t, nil, "--endpoint", via.clientURL, "member", "remove", ids[c.members[victim].name])
		if code != 0 {
			t.Fatalf("member remove %s: exit %d\n%s%s", c.members[victim].name, code, out, errOut)
		}
		if code := c.members[victim].p.waitExit(30 * time.Second); code != 0 {
			t.Errorf("removed %s exited %d", c.members[victim].name, code)
		}
		c.leader(rest...)
		w.waitMore(t, 50)
	}
	w.finish(t, c, live)
}

// TestMemberUpdate moves a member to a new peer URL: member update, then a
// restart on the new URL (its data directory keeps everything else).
func TestMemberUpdate(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	put(t, c.members[0], "u/before", "v")
	ids := memberIDs(t, c.members[0])
	m := c.members[2]
	newPeer := "http://127.0.0.1:" + fmt.Sprint(freePorts(t, 1)[0])
	out, errOut, code := etcdctl(t, nil, "--endpoint", c.members[0].clientURL, "member", "update", ids[m.name], newPeer)
	if code != 0 || out != "Updated member with ID "+ids[m.name]+" in cluster\n" {
		t.Fatalf("member update: exit %d\n%s%s", code, out, errOut)
	}
	m.p.Stop()
	m.peerURL = newPeer
	c.startMember(2) // the bootstrap flags are ignored: the data directory exists
	waitReady(t, m)
	put(t, m, "u/after", "v")
	c.sameEverywhere("u", all(3)...)
	list, _, _ := etcdctl(t, nil, "--endpoint", c.members[0].clientURL, "member", "list")
	if !strings.Contains(list, "peerURLs="+newPeer) {
		t.Errorf("member list after the update:\n%s", list)
	}
}

// TestForceNewCluster loses two members of three for good and restarts the
// last one with --force-new-cluster: a one-member cluster with all the data.
func TestForceNewCluster(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	var acked []uint64
	for i := 0; i < 20; i++ {
		acked = append(acked, put(t, c.members[i%3], fmt.Sprintf("f/%02d", i), "v"))
	}
	// --force-new-cluster keeps what the surviving member durably knew to
	// be committed (spec §3.7). A write through it records the commit
	// index of everything before it in its WAL.
	put(t, c.members[0], "f/sentinel", "v")
	for _, m := range c.members {
		m.p.Kill()
	}
	m := c.members[0]
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(c.initial, "--force-new-cluster")...)
	waitReady(t, m)
	if !strings.Contains(m.p.out.String(), "forcing restart of member") {
		t.Errorf("no forcing log line:\n%s", m.p.out.String())
	}
	if ids := memberIDs(t, m); len(ids) != 1 {
		t.Errorf("members after --force-new-cluster: %v", ids)
	}
	for i, idx := range acked {
		if code, n := quorumGet(t, m, fmt.Sprintf("f/%02d", i)); code != 200 || n.ModifiedIndex != idx {
			t.Errorf("f/%02d: %d index %d, want %d", i, code, n.ModifiedIndex, idx)
		}
	}
	put(t, m, "f/new", "v")
	// A restart without the flag stays a one-member cluster.
	m.p.Stop()
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(c.initial)...)
	waitReady(t, m)
	put(t, m, "f/again", "v")
}

// TestStrictReconfigCheck refuses changes that would leave fewer started,
// reachable members than the quorum.
func TestStrictReconfigCheck(t *testing.T) {
	c := newCluster(t, 3, "--strict-reconfig-check")
	c.start()
	ids := memberIDs(t, c.members[0])
	c.members[2].p.Kill()
	post := func() (int, string) {
		code, _, body := httpDoType(t, "POST", c.members[0].clientURL+"/v2/members", "application/json", `{"peerURLs":["http://127.0.0.1:1"]}`)
		return code, body
	}
	// Wait until the dead member is seen as unreachable, then adding a
	// fourth (2 of 4 reachable, quorum 3) is refused.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := post()
		if code == 500 && body == `{"message":"Internal Server Error"}` {
			break
		}
		if code == 201 {
			t.Fatalf("an add that loses quorum was accepted: %s", body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("add with a member down: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Removing a live member (leaving 1 of 2 reachable) is refused too.
	if code, _, body := httpDo(t, "DELETE", c.members[0].clientURL+"/v2/members/"+ids[c.members[1].name], ""); code != 500 {
		t.Errorf("removing a live member with another down: %d %s", code, body)
	}
	// Removing the dead one keeps a quorum of started members: allowed.
	if code, _, body := httpDo(t, "DELETE", c.members[0].clientURL+"/v2/members/"+ids[c.members[2].name], ""); code != 204 {
		t.Errorf("removing the dead member: %d %s", code, body)
	}
	if ids := memberIDs(t, c.members[0]); len(ids) != 2 {
		t.Errorf("members: %v", ids)
	}
}

// TestRemovedMemberRestart restarts a removed member on its old data
// directory: it learns it was removed and exits 0 with etcd's lines.
func TestRemovedMemberRestart(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	ids := memberIDs(t, c.members[0])
	m := c.members[2]
	m.p.Kill()
	if code, _, body := httpDo(t, "DELETE", c.members[0].clientURL+"/v2/members/"+ids[m.name], ""); code != 204 {
		t.Fatalf("remove: %d %s", code, body)
	}
	c.startMember(2)
	if code := m.p.waitExit(30 * time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	for _, want := range []string{"the member has been permanently removed from the cluster", "the data-dir used by this member must be removed."} {
		if !strings.Contains(m.p.out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// A removed ID is gone for good: 410 when removed again, and (as etcd
	// 2.3.8 answers) a plain 500 for an update.
	if code, _, body := httpDo(t, "DELETE", c.members[0].clientURL+"/v2/members/"+ids[m.name], ""); code != 410 || body != `{"message":"Member permanently removed: `+ids[m.name]+`"}` {
		t.Errorf("removing a removed member: %d %s", code, body)
	}
	req, _ := http.NewRequest("PUT", c.members[0].clientURL+"/v2/members/"+ids[m.name], strings.NewReader(`{"peerURLs":["http://127.0.0.1:1"]}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || string(b) != `{"message":"Internal Server Error"}` {
			t.Errorf("updating a removed member: %d %s", resp.StatusCode, b)
		}
	}
}

// TestReconfigBadInputs: each bad request is refused clearly and leaves the
// membership unchanged.
func TestReconfigBadInputs(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	before := memberIDs(t, c.members[0])
	u := c.members[0].clientURL
	jsonReq := func(method, path, ct, body string) (int, string) {
		code, _, out := httpDoType(t, method, u+path, ct, body)
		return code, out
	}
	for _, tc := range []struct {
		method, path, ct, body string
		code                   int
		want                   string
	}{
		{"POST", "/v2/members", "application/json", `{"peerURLs":["` + c.members[1].peerURL + `"]}`, 409, `{"message":"etcdserver: peerURL exists"}`},
		{"POST", "/v2/members", "application/json", `{"peerURLs":`, 400, `{"message":"unexpected end of JSON input"}`},
		{"POST", "/v2/members", "text/plain", `{}`, 415, `{"message":"Bad Content-Type text/plain, accept application/json"}`},
		{"DELETE", "/v2/members/1234", "", "", 404, `{"message":"No such member: 1234"}`},
		{"PUT", "/v2/members/1234", "application/json", `{"peerURLs":["http://127.0.0.1:9"]}`, 404, `{"message":"No such member: 1234"}`},
		{"PUT", "/v2/members/" + before[c.members[1].name], "application/json", `{"peerURLs":["` + c.members[2].peerURL + `"]}`, 409, `{"message":"etcdserver: peerURL exists"}`},
	} {
		if code, body := jsonReq(tc.method, tc.path, tc.ct, tc.body); code != tc.code || body != tc.want {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	out, errOut, code := etcdctl(t, nil, "--endpoint", u, "member", "remove", "1234")
	if code != 1 || !strings.Contains(out+errOut, "Couldn't find a member in the cluster with an ID of 1234.") {
		t.Errorf("etcdctl member remove of an unknown ID: exit %d\n%s%s", code, out, errOut)
	}

	// Joining without being added: the membership does not match.
	m := newMember(t, "infra4")
	p := startProc(t, t.TempDir(), nil, bin.etcd, m.args(c.initial+",infra4="+m.peerURL, "--initial-cluster-state", "existing")...)
	if code := p.waitExit(30 * time.Second); code != 1 || !strings.Contains(p.out.String(), "member count is unequal") {
		t.Errorf("joining without member add: exit %d\n%s", code, p.out.String())
	}
	// A name that is not in --initial-cluster.
	p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(c.initial, "--initial-cluster-state", "existing")...)
	if code := p.waitExit(30 * time.Second); code != 1 || !strings.Contains(p.out.String(), `couldn't find local name "infra4"`) {
		t.Errorf("joining under an unknown name: exit %d\n%s", code, p.out.String())
	}
	if after := memberIDs(t, c.members[0]); len(after) != len(before) {
		t.Errorf("membership changed: %v, was %v", after, before)
	}
}
