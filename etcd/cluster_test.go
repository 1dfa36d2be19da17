package main

import (
	"errors"
	"testing"

	"v2etcd/httpd"
	"v2etcd/kv"
	"v2etcd/peer"
)

// TestClusterApplyAndRecover applies membership changes to a store, then
// rebuilds a second view from that store alone (as after a snapshot).
func TestClusterApplyAndRecover(t *testing.T) {
	store := kv.New()
	c := newCluster(1)
	a, b := peer.ID(0xa), peer.ID(0xb)
	for _, step := range []struct {
		kind confChangeKind
		id   peer.ID
		urls []string
		want error
	}{
		{confAdd, a, []string{"http://10.0.0.1:2380"}, nil},
		{confAdd, b, []string{"http://10.0.0.2:2380"}, nil},
		{confAdd, a, []string{"http://10.0.0.9:2380"}, httpd.ErrIDExists},
		{confAdd, 0xc, []string{"http://10.0.0.1:2380"}, httpd.ErrPeerURLExists},
		{confUpdate, b, []string{"http://10.0.0.1:2380"}, httpd.ErrPeerURLExists},
		{confUpdate, 0xd, []string{"http://10.0.0.4:2380"}, httpd.ErrMemberNotFound},
		{confRemove, 0xd, nil, httpd.ErrMemberNotFound},
	} {
		if err := c.checkConfChange(step.kind, step.id, step.urls); !errors.Is(err, step.want) {
			t.Fatalf("check %v %s: %v, want %v", step.kind, step.id, err, step.want)
		}
		if step.want == nil {
			if err := c.applyAdd(store, step.id, step.urls); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.applyUpdate(store, b, []string{"http://10.0.0.3:2380"}); err != nil {
		t.Fatal(err)
	}
	c.noteWrite(attributesKey(a), `{"name":"infra1","clientURLs":["http://10.0.0.1:2379"]}`)
	if _, err := store.Apply(&kv.Request{Method: kv.MethodPut, Path: attributesKey(a), Val: `{"name":"infra1","clientURLs":["http://10.0.0.1:2379"]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(&kv.Request{Method: kv.MethodPut, Path: versionKey, Val: "2.3.0"}); err != nil {
		t.Fatal(err)
	}
	c.noteWrite(versionKey, "2.3.0")
	if err := c.applyRemove(store, b); err != nil {
		t.Fatal(err)
	}
	if err := c.checkConfChange(confAdd, b, []string{"http://10.0.0.5:2380"}); !errors.Is(err, httpd.ErrMemberRemoved) {
		t.Errorf("re-adding a removed member: %v", err)
	}

	r := newCluster(1)
	if err := r.recover(store); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*cluster{c, r} {
		ms := v.Members()
		if len(ms) != 1 || ms[0].ID != a || ms[0].Name != "infra1" || ms[0].ClientURLs.String() != "http://10.0.0.1:2379" ||
			ms[0].PeerURLs.String() != "http://10.0.0.1:2380" {
			t.Errorf("members: %+v", ms)
		}
		if !v.IsRemoved(b) || v.Version() != "2.3.0" {
			t.Errorf("removed %v version %q", v.IsRemoved(b), v.Version())
		}
	}
}
