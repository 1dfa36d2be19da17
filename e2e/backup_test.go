package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupRestore backs up a running member with etcdctl backup, then
// starts a new one-member cluster from the backup with --force-new-cluster:
// it holds every write, under a new member ID and cluster ID.
func TestBackupRestore(t *testing.T) {
	c := newCluster(t, 3, "--snapshot-count", "50")
	c.start()
	var acked []uint64
	for i := 0; i < 120; i++ {
		acked = append(acked, put(t, c.members[i%3], fmt.Sprintf("b/%03d", i), fmt.Sprint(i)))
	}
	// A write through the member we back up records the commit of all the
	// writes before it in its WAL (a backup keeps what that member knew).
	put(t, c.members[0], "b/sentinel", "v")
	oldIDs := memberIDs(t, c.members[0])
	_, hdr, _ := httpDo(t, "GET", c.members[0].clientURL+"/v2/keys/b/000", "")
	oldCluster := hdr.Get("X-Etcd-Cluster-Id")

	backupDir := filepath.Join(t.TempDir(), "backup.etcd")
	out, errOut, code := etcdctl(t, nil, "backup", "--data-dir", c.members[0].dataDir, "--backup-dir", backupDir)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}

	r := newMember(t, "restored")
	r.dataDir = backupDir
	r.p = startProc(t, t.TempDir(), nil, bin.etcd, r.args(r.name+"="+r.peerURL, "--force-new-cluster")...)
	waitReady(t, r)
	for i, idx := range acked {
		code, n := quorumGet(t, r, fmt.Sprintf("b/%03d", i))
		if code != 200 || n.ModifiedIndex != idx || n.Value != fmt.Sprint(i) {
			t.Errorf("b/%03d in the restored member: %d %+v, acknowledged at %d", i, code, n, idx)
		}
	}
	ids := memberIDs(t, r)
	if len(ids) != 1 {
		t.Fatalf("restored members: %v", ids)
	}
	for _, id := range oldIDs {
		if ids["restored"] == id {
			t.Errorf("the restored member kept the old ID %s", id)
		}
	}
	_, hdr, _ = httpDo(t, "GET", r.clientURL+"/v2/keys/b/000", "")
	if got := hdr.Get("X-Etcd-Cluster-Id"); got == oldCluster || got == "" {
		t.Errorf("restored cluster ID %q, old %q", got, oldCluster)
	}
	put(t, r, "b/after-restore", "v")
	// The restored member is on its own; the old cluster goes on untouched.
	put(t, c.members[1], "b/old-cluster", "v")
	if code, _ := quorumGet(t, r, "b/old-cluster"); code != 404 {
		t.Errorf("a write of the old cluster reached the restored one")
	}
	if !strings.Contains(r.p.out.String(), "forcing restart of member") {
		t.Errorf("no forcing line in the restored member's log")
	}
}
