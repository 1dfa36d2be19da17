package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"v2etcd/discover"
	"v2etcd/kv"
	"v2etcd/peer"
	"v2etcd/wal"
)

// Joining a running cluster (--initial-cluster-state existing, spec §3.4):
// the member was announced first with "etcdctl member add" (POST
// /v2/members), which gave it an ID in the cluster. Started with an empty
// data directory, it asks the other members for the live membership, checks
// that --initial-cluster describes exactly that membership, takes its ID
// and the cluster ID from it, and starts with an empty log: the leader sends
// it the log, or a snapshot, like any lagging follower.

// fetchTimeout bounds each attempt to read a peer's /members or /version.
const fetchTimeout = 10 * time.Second

// joinExistingCluster makes the data directory of a member joining a
// running cluster. Its state carries the live members as seedPeers, so the
// transport can reach them before the log arrives.
func joinExistingCluster(cfg *Config, cluster discover.InitialCluster, log *slog.Logger) (*memberState, error) {
	if err := checkExistingCluster(cfg, cluster); err != nil {
		return nil, err
	}
	tc, err := cfg.peerClientTLS()
	if err != nil {
		return nil, err
	}
	var others []string
	for _, name := range cluster.Names() {
		if name != cfg.Name {
			others = append(others, cluster[name].Strings()...)
		}
	}
	slices.Sort(others)
	live, cid, err := fetchMembers(others, tc)
	if err != nil {
		return nil, fatalf("cannot fetch cluster info from peer urls: could not retrieve cluster information from the given urls")
	}
	self, err := matchMembers(cluster, cfg.Name, live, cid)
	if err != nil {
		return nil, err
	}
	if err := checkVersions(others, tc); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.memberDir(), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create member directory: %w", err)
	}
	w, err := wal.Create(cfg.walDir(), wal.Metadata{MemberID: uint64(self), ClusterID: uint64(cid)}, cfg.walOptions(log))
	if err != nil {
		return nil, err
	}
	st := &memberState{
		id: self, clusterID: cid, wal: w,
		snap:      wal.NewSnapshotter(cfg.snapDir(), log.With(pkgKey, "snap")),
		store:     kv.New(),
		cluster:   newCluster(cid),
		seedPeers: live,
	}
	return st, nil
}

// fetchMembers asks the other members, in order, for the live membership.
func fetchMembers(urls []string, tc *tls.Config) ([]*peer.Member, peer.ID, error) {
	var lastErr error
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		ms, cid, err := peer.GetMembers(ctx, []string{u}, tc)
		cancel()
		if err == nil {
			return ms, cid, nil
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = peer.ErrNoClusterInfo
	}
	return nil, 0, lastErr
}

// matchMembers checks that the local --initial-cluster lists exactly the
// live members with their peer URLs (names are not compared), pairing them
// by their first peer URL, and returns this member's live ID.
func matchMembers(cluster discover.InitialCluster, name string, live []*peer.Member, cid peer.ID) (peer.ID, error) {
	dump := clusterDump(cid, live)
	if len(cluster) != len(live) {
		return 0, fatalf("error validating peerURLs %s: member count is unequal", dump)
	}
	type entry struct {
		name string
		urls peer.URLs
	}
	var local []entry
	for _, n := range cluster.Names() {
		local = append(local, entry{n, cluster[n]})
	}
	first := func(us peer.URLs) string {
		if len(us) == 0 {
			return ""
		}
		return us[0].String()
	}
	slices.SortFunc(local, func(a, b entry) int { return strings.Compare(first(a.urls), first(b.urls)) })
	byURL := slices.Clone(live)
	slices.SortFunc(byURL, func(a, b *peer.Member) int { return strings.Compare(first(a.PeerURLs), first(b.PeerURLs)) })
	var self peer.ID
	for i, l := range local {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		eq, _ := peer.URLsEqual(ctx, l.urls, byURL[i].PeerURLs, nil)
		cancel()
		if !eq {
			return 0, fatalf("error validating peerURLs %s: unmatched member while checking PeerURLs", dump)
		}
		if l.name == name {
			self = byURL[i].ID
		}
	}
	return self, nil
}

// clusterDump writes the live membership as etcd prints it in errors.
func clusterDump(cid peer.ID, ms []*peer.Member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ClusterID:%s Members:[", cid)
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "&{ID:%s RaftAttributes:{PeerURLs:%v} Attributes:{Name:%s ClientURLs:%v}}",
			m.ID, m.PeerURLs.Strings(), m.Name, m.ClientURLs.Strings())
	}
	b.WriteString("] RemovedMemberIDs:[]}")
	return b.String()
}

// checkVersions makes sure the running cluster is one this binary can join:
// at least one member must report a cluster version between the minimum
// this binary supports and its own major.minor, and none outside it.
func checkVersions(urls []string, tc *tls.Config) error {
	ok := false
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		v, err := peer.GetVersion(ctx, []string{u}, tc)
		cancel()
		if err != nil || v.Cluster == "not_decided" {
			continue
		}
		if !versionInRange(v.Cluster) {
			return fatalf("incomptible with current running cluster")
		}
		ok = true
	}
	if !ok {
		return fatalf("incomptible with current running cluster")
	}
	return nil
}

// versionInRange reports whether a cluster version (major.minor[.patch]) is
// within [minClusterVersion, this binary's major.minor].
func versionInRange(v string) bool {
	mm := func(s string) (int, int, bool) {
		parts := strings.SplitN(s, ".", 3)
		if len(parts) < 2 {
			return 0, 0, false
		}
		a, err1 := strconv.Atoi(parts[0])
		b, err2 := strconv.Atoi(parts[1])
		return a, b, err1 == nil && err2 == nil
	}
	ma, mi, ok := mm(v)
	if !ok {
		return false
	}
	lo1, lo2, _ := mm(minClusterVersion)
	hi1, hi2, _ := mm(Version)
	c := ma*1000 + mi
	return c >= lo1*1000+lo2 && c <= hi1*1000+hi2
}
