package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
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
		if code := m.p.waitExit(30e9); code != 0 {
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
