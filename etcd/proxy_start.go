package main

// Starting a proxy (spec §1.6, §7.2, §7.3): whether this process is a
// member or a proxy, the cluster's peer URLs (found once, then kept in
// <data-dir>/proxy/cluster), and the refresh that turns them into the
// members' client URLs.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"v2etcd/discover"
	"v2etcd/peer"
	"v2etcd/wal"
)

// role is what the process runs as.
type role int

const (
	roleMember role = iota
	roleProxy
)

// chooseRole decides between member and proxy by the data directory first
// (§1.6): a member's data (member/, or a WAL in --wal-dir) makes a member
// and a proxy's (proxy/) a proxy, whatever --proxy says; both at once is
// an error. Anything else in the directory is warned about. An empty or
// missing directory leaves it to --proxy.
func chooseRole(cfg *Config, log *slog.Logger) (role, error) {
	entries, err := os.ReadDir(cfg.DataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fatalf("error listing data dir: %s: %v", cfg.DataDir, err)
	}
	var member, proxy bool
	for _, e := range entries {
		switch e.Name() {
		case "member":
			member = true
		case "proxy":
			proxy = true
		default:
			log.Warn(fmt.Sprintf("found invalid file/dir %s under data dir %s (Ignore this if you are upgrading etcd)", e.Name(), cfg.DataDir))
		}
	}
	switch {
	case member && proxy:
		return 0, fatalf("invalid datadir. Both member and proxy directories exist.")
	case member || wal.Exist(cfg.walDir()):
		return roleMember, nil
	case proxy:
		logAt(log, levelNotice, "the server is already initialized as proxy before, starting as etcd proxy...")
		return roleProxy, nil
	case cfg.Proxy != proxyOff:
		return roleProxy, nil
	}
	return roleMember, nil
}

// proxyDir holds a proxy's state: the cluster file.
func (c *Config) proxyDir() string { return filepath.Join(c.DataDir, "proxy") }

func (c *Config) proxyClusterFile() string { return filepath.Join(c.proxyDir(), "cluster") }

// runningProxy is a started proxy.
type runningProxy struct {
	https    []*http.Server
	stop     context.CancelFunc // ends the refresh loop and the requests in flight
	loopDone chan struct{}
}

// runProxy runs this process as a proxy until ctx ends, and returns the
// exit code.
func runProxy(ctx context.Context, cfg *Config, res *net.Resolver, log *slog.Logger) int {
	p, err := startProxy(ctx, cfg, res, log)
	if err != nil {
		if ctx.Err() != nil {
			return 0 // a signal ended the start (discovery may wait long)
		}
		reportStartupError(log, err)
		return 1
	}
	<-ctx.Done()
	p.shutdown()
	return 0
}

// startProxy finds the cluster, learns its members' client URLs, and serves
// the proxy on --listen-client-urls.
func startProxy(ctx context.Context, cfg *Config, res *net.Resolver, log *slog.Logger) (*runningProxy, error) {
	tc, err := cfg.peerClientTLS()
	if err != nil {
		return nil, err
	}
	peerURLs, err := proxyPeerURLs(ctx, cfg, res, log)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.proxyDir(), 0o700); err != nil {
		return nil, fmt.Errorf("proxy: cannot create the proxy directory: %w", err)
	}
	pc := &proxyCluster{
		peerURLs: peerURLs, file: cfg.proxyClusterFile(), tls: tc,
		log: log, serverLog: log.With(pkgKey, "etcdserver"),
	}
	ms := func(n uint) time.Duration { return time.Duration(n) * time.Millisecond }
	dir := newDirector(ms(cfg.ProxyFailureWaitMs), log.With(pkgKey, "proxy"))
	dir.set(pc.refresh(ctx))

	stopping, stop := context.WithCancel(context.Background())
	h := &proxyHandler{
		director:  dir,
		transport: newProxyTransport(ms(cfg.ProxyDialTimeoutMs), ms(cfg.ProxyReadTimeoutMs), ms(cfg.ProxyWriteTimeoutMs), tc),
		readonly:  cfg.Proxy == proxyReadonly,
		cors:      cfg.CORS,
		metrics:   newProxyMetrics(),
		log:       log.With(pkgKey, "proxy"),
		stopping:  stopping,
	}
	// listenURLs logs its own "listening for client requests" lines; the
	// proxy logs etcd's proxy lines instead, and keeps the warnings.
	ls, err := listenURLs(cfg.ListenClientURLs, cfg.ClientTLS, "client", slog.New(minLevelHandler{log.Handler(), levelWarning}))
	if err != nil {
		stop()
		return nil, err
	}
	p := &runningProxy{stop: stop, loopDone: make(chan struct{})}
	p.https = serveAll(ls, h, log)
	for _, u := range cfg.ListenClientURLs {
		log.Info("proxy: listening for client requests on " + u.String())
	}
	go func() {
		defer close(p.loopDone)
		refreshLoop(stopping, ms(cfg.ProxyRefreshIntervalMs), dir, pc.refresh)
	}()
	return p, nil
}

// shutdown stops the refresh, ends the requests in flight and closes the
// listeners.
func (p *runningProxy) shutdown() {
	p.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range p.https {
		srv.Shutdown(ctx)
	}
	<-p.loopDone
}

// proxyPeerURLs finds the peer URLs the proxy learns the cluster from
// (§7.2): those of the cluster file when there is one (the discovery flags
// are then ignored, with a warning), or else from --discovery (waiting for
// the cluster to complete), --discovery-srv, or --initial-cluster, in that
// order.
func proxyPeerURLs(ctx context.Context, cfg *Config, res *net.Resolver, log *slog.Logger) ([]string, error) {
	file := cfg.proxyClusterFile()
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		if cfg.Discovery != "" {
			log.Warn(fmt.Sprintf("discovery token ignored since the proxy has already been initialized. Valid cluster file found at %q", file))
		}
		if cfg.DiscoverySRV != "" {
			log.Warn(fmt.Sprintf("DNS SRV discovery ignored since the proxy has already been initialized. Valid cluster file found at %q", file))
		}
		var cf clusterFile
		if err := json.Unmarshal(b, &cf); err != nil {
			return nil, fatalf("proxy: cannot read the cluster file %s: %v", file, err)
		}
		if len(cf.PeerURLs) == 0 {
			return nil, fatalf("proxy: the cluster file %s lists no peer URLs", file)
		}
		log.Info(fmt.Sprintf("proxy: using peer urls %v from cluster file %q", cf.PeerURLs, file))
		return cf.PeerURLs, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fatalf("proxy: cannot read the cluster file: %v", err)
	}

	var cluster discover.InitialCluster
	switch {
	case cfg.Discovery != "":
		dc := discover.Config{URL: cfg.Discovery, Proxy: cfg.DiscoveryProxy, Logger: log.With(pkgKey, "discovery")}
		if cluster, err = discover.GetCluster(ctx, dc); err != nil {
			return nil, err
		}
	case cfg.DiscoverySRV != "":
		d := discover.DNS{Resolver: res, Logger: log.With(pkgKey, "discovery")}
		if cluster, err = d.ServerCluster(ctx, cfg.DiscoverySRV, cfg.Name, cfg.InitialAdvertisePeerURLs); err != nil {
			return nil, fatalf("error setting up initial cluster: %w", err)
		}
	default:
		if cluster, err = discover.ParseInitialCluster(cfg.InitialCluster); err != nil {
			return nil, fatalf("error setting up initial cluster: %w", err)
		}
	}
	urls := slices.Compact(cluster.URLs().Strings())
	if len(urls) == 0 {
		return nil, fatalf("proxy: found no peer URLs to learn the cluster from")
	}
	log.Info(fmt.Sprintf("proxy: using peer urls %v", urls))
	return urls, nil
}

// clusterFile is the content of <data-dir>/proxy/cluster.
type clusterFile struct {
	PeerURLs []string
}

// writeClusterFile replaces the cluster file safely: the new content goes
// to cluster.bak, is synced, and is renamed over the old file; then the
// directory is synced so that the rename lasts.
func writeClusterFile(file string, peerURLs []string) error {
	b, err := json.Marshal(clusterFile{PeerURLs: peerURLs})
	if err != nil {
		return err
	}
	tmp := file + ".bak"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(file))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// proxyCluster is what the proxy knows of the cluster: the peer URLs to ask
// for the membership. Only the refresh loop uses it (after the first
// refresh, which startProxy makes before the loop starts).
type proxyCluster struct {
	peerURLs   []string
	file       string
	tls        *tls.Config
	log        *slog.Logger // etcdmain's lines
	serverLog  *slog.Logger // etcdserver's lines
	clientURLs []string     // the last endpoints learnt
}

// refresh asks the peer URLs in order for the membership (§7.3) and returns
// the members' client URLs, sorted. When no peer answers it returns none;
// when the membership is empty it keeps the last ones. The members' peer
// URLs replace the known ones and are saved to the cluster file.
func (pc *proxyCluster) refresh(ctx context.Context) []string {
	var members []*peer.Member
	answered := false
	for _, u := range pc.peerURLs {
		fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		ms, _, err := peer.GetMembers(fctx, []string{u}, pc.tls)
		cancel()
		if err == nil {
			members, answered = ms, true
			break
		}
		if ctx.Err() != nil {
			return pc.clientURLs
		}
		cause := strings.TrimPrefix(err.Error(), peer.ErrNoClusterInfo.Error()+": ")
		pc.serverLog.Warn(fmt.Sprintf("could not get cluster response from %s: %s", u, cause))
	}
	if !answered {
		pc.log.Warn("proxy: could not retrieve cluster information from the given urls")
		return nil
	}
	if len(members) == 0 {
		return pc.clientURLs
	}
	var clients, peers []string
	for _, m := range members {
		clients = append(clients, m.ClientURLs.Strings()...)
		peers = append(peers, m.PeerURLs.Strings()...)
	}
	slices.Sort(clients)
	slices.Sort(peers)
	clients, peers = slices.Compact(clients), slices.Compact(peers)
	pc.clientURLs = clients
	if err := writeClusterFile(pc.file, peers); err != nil {
		pc.log.Warn(fmt.Sprintf("proxy: error on updating clusterfile %v", err))
		return clients
	}
	if !slices.Equal(peers, pc.peerURLs) {
		logAt(pc.log, levelNotice, fmt.Sprintf("proxy: updated peer urls in cluster file from %v to %v", pc.peerURLs, peers))
		pc.peerURLs = peers
	}
	return clients
}

// minProxyRefresh is the shortest pause between two refreshes, whatever
// --proxy-refresh-interval says: 0 would ask the members without pause.
const minProxyRefresh = 100 * time.Millisecond

// refreshLoop refreshes the endpoints every interval until ctx ends. With
// etcd's default interval (30 s) or longer, it tries again after one second
// while no endpoint is available, so a proxy started before its cluster
// finds it soon.
func refreshLoop(ctx context.Context, interval time.Duration, d *director, update func(context.Context) []string) {
	interval = max(interval, minProxyRefresh)
	for {
		wait := interval
		if interval >= 30*time.Second && len(d.available()) == 0 {
			wait = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		urls := update(ctx)
		if ctx.Err() != nil {
			return
		}
		d.set(urls)
	}
}

// minLevelHandler passes on only the records at min and above.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{h.Handler.WithGroup(name), h.min}
}
