// The etcd command is the server: a member of a cluster that serves etcd's v2
// API to clients and talks raft to the other members.
//
// With no flags it starts a one-member cluster named "default", keeping its
// data in default.etcd, serving clients on http://localhost:2379 and peers on
// http://localhost:2380. See README.md for the flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"v2etcd/discover"
	"v2etcd/httpd"
	"v2etcd/peer"
	"v2etcd/wal"
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit code.
func run(args, environ []string, stdout, stderr io.Writer) int {
	h := newLogHandler(stderr, nil)
	log := slog.New(h)
	cfg, code, err := parseConfig(args, environ, stdout, stderr, log)
	if cfg == nil {
		_ = err // already printed or logged
		return code
	}
	setupLogging(h, log, cfg.Debug, cfg.LogPackageLevels)
	cfg.logStart(log)

	if err := checkSupported(cfg); err != nil {
		logAt(log, levelCritical, err.Error())
		return 1
	}
	res, err := dnsResolver(environ)
	if err != nil {
		logAt(log, levelCritical, err.Error())
		return 1
	}
	if cfg.walSyncLog, err = openWALSyncLog(environ, log); err != nil {
		logAt(log, levelCritical, err.Error())
		return 1
	}
	defer cfg.walSyncLog.Close()
	// SIGINT and SIGTERM end the process, during the start too: discovery
	// may wait long for the other members.
	stopped, stop := context.WithCancel(context.Background())
	defer stop()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
	go func() {
		select {
		case sig := <-sigc:
			log.Info(fmt.Sprintf("received %v signal, shutting down...", sig))
			stop()
		case <-stopped.Done():
		}
	}()

	// Member or proxy (spec §1.6): the data directory decides, then
	// --proxy; a member whose discovery finds the cluster full becomes a
	// proxy unless --discovery-fallback is exit.
	r, err := chooseRole(cfg, log)
	if err != nil {
		reportStartupError(log, err)
		return 1
	}
	if r == roleProxy {
		return runProxy(stopped, cfg, res, log)
	}
	m, err := startMember(stopped, cfg, res, h, log)
	switch {
	case err == nil:
	case stopped.Err() != nil:
		return 0 // a signal ended the start
	case errors.Is(err, discover.ErrFullCluster) && cfg.DiscoveryFallback == fallbackProxy:
		logAt(log, levelNotice, "discovery cluster full, falling back to proxy")
		return runProxy(stopped, cfg, res, log)
	default:
		reportStartupError(log, err)
		return 1
	}
	select {
	case <-stopped.Done():
		m.stop()
		return 0
	case <-m.s.removed:
		// etcd gives the removal a moment to reach the others, then exits 0.
		time.Sleep(time.Second)
		logAt(log.With(pkgKey, "etcdserver"), levelError, "the member has been permanently removed from the cluster")
		log.With(pkgKey, "etcdserver").Info("the data-dir used by this member must be removed.")
		m.stop()
		return 0
	case err := <-m.s.failed:
		logAt(log, levelCritical, err.Error())
		m.stop()
		return 1
	}
}

// checkSupported refuses the features this server does not have, naming
// the flag, rather than ignoring them.
func checkSupported(c *Config) error {
	if c.ExperimentalV3Demo {
		return errors.New("--experimental-v3demo: the v3 API is not part of this server")
	}
	return nil
}

// member is a running member: the server and its HTTP servers.
type member struct {
	s     *server
	https []*http.Server
}

// startMember opens the listeners, builds the server from the data
// directory (restarting, or bootstrapping a new cluster), and serves.
func startMember(ctx context.Context, cfg *Config, res *net.Resolver, h *logHandler, log *slog.Logger) (*member, error) {
	peerLs, err := listenURLs(cfg.ListenPeerURLs, cfg.PeerTLS, "peer", log)
	if err != nil {
		return nil, err
	}
	clientLs, err := listenURLs(cfg.ListenClientURLs, cfg.ClientTLS, "client", log)
	if err != nil {
		closeListeners(peerLs)
		return nil, err
	}
	fail := func(err error) (*member, error) {
		closeListeners(clientLs)
		for _, u := range cfg.ListenClientURLs {
			log.Info("stopping listening for client requests on " + u.String())
		}
		closeListeners(peerLs)
		for _, u := range cfg.ListenPeerURLs {
			log.Info("stopping listening for peers on " + u.String())
		}
		return nil, err
	}
	st, err := openMemberState(ctx, cfg, res, log)
	if err != nil {
		return fail(err)
	}
	metrics := newServerMetrics()
	s, err := newServer(cfg, st, metrics, log)
	if err != nil {
		st.wal.Close()
		return fail(err)
	}
	peerTLS, err := cfg.peerClientTLS()
	if err != nil {
		st.wal.Close()
		return fail(err)
	}
	var selfURLs []string
	if m := st.cluster.Member(st.id); m != nil {
		selfURLs = m.PeerURLs.Strings()
	} else {
		selfURLs = cfg.InitialAdvertisePeerURLs.Strings()
	}
	traffic := peer.NewStats()
	tr, err := peer.NewTransport(peer.Config{
		ID: st.id, ClusterID: st.clusterID, PeerURLs: selfURLs,
		ServerVersion: Version, MinClusterVersion: minClusterVersion,
		Raft: s, Snapshots: snapshotStore{st.snap}, TLS: peerTLS,
		DialTimeout: time.Second + time.Duration(cfg.ElectionMs)*time.Millisecond/5,
		Stats:       traffic,
		Logger:      log.With(pkgKey, "rafthttp"),
	})
	if err != nil {
		st.wal.Close()
		return fail(err)
	}
	s.log.Info(fmt.Sprintf("starting server... [version: %s, cluster version: to_be_decided]", Version))
	s.start(tr, traffic, st.seedPeers)

	peerMux := http.NewServeMux()
	peerInfoHandler(s, peerMux)
	peerMux.Handle("/raft", tr.Handler())
	peerMux.Handle("/raft/", tr.Handler())
	m := &member{s: s}
	m.https = append(m.https, serveAll(peerLs, peerMux, log)...)
	client := httpd.NewHandler(httpd.Config{
		Server:        s,
		ServerVersion: Version,
		CORS:          cfg.CORS,
		Metrics:       metrics.reg,
		EnablePprof:   cfg.EnablePprof,
		DebugVars:     s.debugVars,
		Logger:        log.With(pkgKey, "etcdhttp"),
		SetLogLevel: func(level string) error {
			l, err := parseLogLevel(level)
			if err == nil {
				h.setLevels(l, nil)
			}
			return err
		},
	})
	m.https = append(m.https, serveAll(clientLs, client, log)...)
	return m, nil
}

// openMemberState restarts from an existing data directory, or creates the
// data directory of a member of a new cluster.
func openMemberState(ctx context.Context, cfg *Config, res *net.Resolver, log *slog.Logger) (*memberState, error) {
	// A bad --initial-cluster, or a failed SRV lookup, fails even a
	// restart, as in etcd.
	cluster, token, err := newMemberCluster(ctx, cfg, res, log)
	if err != nil {
		return nil, err
	}
	if wal.Exist(cfg.walDir()) {
		log.Info("the server is already initialized as member before, starting as etcd member...")
		if cfg.Discovery != "" {
			log.Warn(fmt.Sprintf("discovery token ignored since a cluster has already been initialized. Valid log found at %q", cfg.walDir()))
		}
		cfg.logServerSummary(log, nil)
		st, err := restartMember(cfg, log)
		if err != nil {
			return nil, err
		}
		if cfg.ForceNewCluster {
			if err := forceNewCluster(st, cfg, log.With(pkgKey, "etcdserver")); err != nil {
				st.wal.Close()
				return nil, err
			}
		}
		log.With(pkgKey, "etcdserver").Info(fmt.Sprintf("restarting member %s in cluster %s at commit index %d", st.id, st.clusterID, st.raft.HardState.Commit))
		return st, nil
	}
	if cfg.InitialClusterState == clusterStateExisting {
		cfg.logServerSummary(log, cluster)
		st, err := joinExistingCluster(cfg, cluster, log)
		if err != nil {
			return nil, err
		}
		log.With(pkgKey, "etcdserver").Info(fmt.Sprintf("joining member %s of cluster %s", st.id, st.clusterID))
		return st, nil
	}
	if err := checkNewCluster(ctx, cfg, cluster, lookupHost(res)); err != nil {
		return nil, err
	}
	members, err := cluster.Members(token)
	if err != nil {
		return nil, err
	}
	self := peer.MemberID(cluster[cfg.Name], token, nil)
	if err := checkNotBootstrapped(cfg, self, members); err != nil {
		return nil, err
	}
	if cfg.Discovery != "" {
		// The discovery service's cluster replaces the map of this member
		// alone (spec §3.3 step 6).
		if cluster, err = joinDiscovery(ctx, cfg, self, cluster, log); err != nil {
			return nil, err
		}
		if members, err = cluster.Members(token); err != nil {
			return nil, err
		}
	}
	cfg.logServerSummary(log, cluster)
	st, err := bootstrapNewMember(cfg, self, members, log)
	if err != nil {
		return nil, err
	}
	log.With(pkgKey, "etcdserver").Info(fmt.Sprintf("starting member %s in cluster %s", st.id, st.clusterID))
	return st, nil
}

// minClusterVersion is the oldest cluster version this binary works with.
const minClusterVersion = "2.2.0"

// checkNotBootstrapped asks the other members of a new cluster for their
// membership (one second, errors ignored): if a running cluster already
// holds this member with published client URLs, this member lost its data
// directory and must not bootstrap again (spec §3.3 step 5).
func checkNotBootstrapped(cfg *Config, self peer.ID, members []*peer.Member) error {
	var urls []string
	for _, m := range members {
		if m.ID != self {
			urls = append(urls, m.PeerURLs.Strings()...)
		}
	}
	if len(urls) == 0 {
		return nil
	}
	tc, err := cfg.peerClientTLS()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	running, _, err := peer.GetMembers(ctx, urls, tc)
	if err != nil {
		return nil
	}
	for _, m := range running {
		if m.ID == self && len(m.ClientURLs) > 0 {
			return fmt.Errorf("member %s has already been bootstrapped", self)
		}
	}
	return nil
}

// stop shuts the HTTP servers down (open watches end when the server
// signals it is stopping), then the member.
func (m *member) stop() {
	m.s.transferLeadership()
	stopped := make(chan struct{})
	go func() {
		m.s.Stop()
		close(stopped)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range m.https {
		srv.Shutdown(ctx)
	}
	<-stopped
}

func closeListeners(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}
