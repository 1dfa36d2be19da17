// The server's configuration: every etcd 2.3 flag, its ETCD_* environment
// variable, and the checks that run before anything starts.
//
// Where a setting comes from, strongest first:
//
//  1. the command line (-flag value, -flag=value, --flag works the same);
//  2. the environment: ETCD_ and the flag name in upper case with '-' turned
//     into '_' (--initial-cluster-token is ETCD_INITIAL_CLUSTER_TOKEN). It is
//     read only after the command line, fills only flags the command line did
//     not set, and a variable with an empty value counts as unset;
//  3. the default, some of them derived from other settings: the data
//     directory is <name>.etcd, and when --name is not "default" but the
//     initial cluster is still the default one, the initial cluster becomes
//     <name>=http://localhost:2380.
//
// A flag set from the environment counts as set explicitly in every later
// check, just like one given on the command line.
//
// The steps, in order (parseConfig): parse the command line (a bad flag or
// value: the flag package's message, the usage text, exit 2; -h: usage and
// help, exit 0); refuse left-over arguments (exit 1); --version (exit 0,
// before the environment is looked at); apply the environment (a bad value
// is fatal, exit 1); then the cross-flag checks (exit 1); then the derived
// defaults.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"v2etcd/discover"
	"v2etcd/peer"
)

// Defaults. etcd 2.3 also listened and advertised on the legacy 0.4 ports,
// 4001 for clients and 7001 for peers, by default. Like etcd 3.0, and as this
// project's issues require, we deliberately use only the IANA ports: the
// client URLs default to http://localhost:2379, the peer URLs to
// http://localhost:2380, and the initial cluster to
// default=http://localhost:2380. The deprecated -addr style flags still work
// for anyone who needs the old ports.
const (
	defaultName                = "default"
	defaultClientURL           = "http://localhost:2379"
	defaultPeerURL             = "http://localhost:2380"
	defaultInitialClusterToken = "etcd-cluster"
	defaultSnapshotCount       = 10000
	defaultHeartbeatMs         = 100
	defaultElectionMs          = 1000
	defaultMaxSnapshots        = 5
	defaultMaxWALs             = 5
	defaultGRPCAddr            = "127.0.0.1:2378"
	maxElectionMs              = 50000

	clusterStateNew      = "new"
	clusterStateExisting = "existing"
	proxyOff             = "off"
	proxyOn              = "on"
	proxyReadonly        = "readonly"
	fallbackExit         = "exit"
	fallbackProxy        = "proxy"
)

// initialClusterFromName is the default --initial-cluster for a member named name.
func initialClusterFromName(name string) string { return name + "=" + defaultPeerURL }

// ignoredFlags are etcd 0.4 flags that are still accepted, as booleans, and
// only warned about.
var ignoredFlags = []string{
	"cluster-active-size", "cluster-remove-delay", "cluster-sync-interval", "config", "force",
	"max-result-buffer", "max-retry-attempts", "peer-heartbeat-interval", "peer-election-timeout",
	"retry-interval", "snapshot", "v", "vv",
}

// Errors of the cross-flag checks, with etcd's texts.
var (
	errConflictBootstrapFlags  = errors.New(`multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"`)
	errUnsetAdvertiseClientURL = errors.New("-advertise-client-urls is required when -listen-client-urls is set explicitly")
)

// advertiseClientURLHint is the second line logged for errUnsetAdvertiseClientURL.
const advertiseClientURLHint = "When listening on specific address(es), this etcd process must advertise accessible url(s) to each connected client."

// tlsInfo is the TLS material of one side, clients or peers.
type tlsInfo struct {
	CertFile       string
	KeyFile        string
	TrustedCAFile  string
	ClientCertAuth bool
	CAFile         string // deprecated: --ca-file f means --trusted-ca-file f --client-cert-auth
}

// empty reports whether no certificate and no key are given; such a side
// serves plain http.
func (t tlsInfo) empty() bool { return t.CertFile == "" && t.KeyFile == "" }

// caFiles returns the CA bundles to trust for client certificates: the
// trusted CA file and the deprecated CA file, whichever are set.
func (t tlsInfo) caFiles() []string {
	var fs []string
	for _, f := range []string{t.TrustedCAFile, t.CAFile} {
		if f != "" && !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	return fs
}

// requireClientCert reports whether connections must present a certificate
// signed by one of caFiles: --client-cert-auth, or the deprecated --ca-file.
func (t tlsInfo) requireClientCert() bool { return t.ClientCertAuth || t.CAFile != "" }

// Config is the parsed and checked configuration of the etcd binary. The
// fields hold the final values: flags, then environment, then defaults, with
// the deprecated 0.4 address flags already folded into the URL lists.
type Config struct {
	// Member flags.
	Name             string
	DataDir          string // <Name>.etcd when not given (DataDirDefaulted)
	WALDir           string // "" means <DataDir>/member/wal
	SnapshotCount    uint64 // 0 means defaultSnapshotCount
	HeartbeatMs      uint
	ElectionMs       uint
	ListenPeerURLs   peer.URLs
	ListenClientURLs peer.URLs
	MaxSnapshots     uint // 0 means unlimited
	MaxWALs          uint // 0 means unlimited
	CORS             corsOrigins

	// Clustering flags.
	InitialAdvertisePeerURLs peer.URLs
	InitialCluster           string // parsed later, by initialClusterFor
	InitialClusterState      string // clusterStateNew or clusterStateExisting
	InitialClusterToken      string
	AdvertiseClientURLs      peer.URLs
	Discovery                string
	DiscoveryFallback        string // fallbackExit or fallbackProxy
	DiscoveryProxy           string
	DiscoverySRV             string
	StrictReconfigCheck      bool

	// Proxy flags, in milliseconds.
	Proxy                  string // proxyOff, proxyOn or proxyReadonly
	ProxyFailureWaitMs     uint
	ProxyRefreshIntervalMs uint
	ProxyDialTimeoutMs     uint
	ProxyWriteTimeoutMs    uint
	ProxyReadTimeoutMs     uint

	// Security flags.
	ClientTLS tlsInfo
	PeerTLS   tlsInfo

	// Logging flags.
	Debug            bool
	LogPackageLevels string

	// Unsafe, experimental and other flags.
	ForceNewCluster                     bool
	ExperimentalV3Demo                  bool
	ExperimentalGRPCAddr                string
	ExperimentalAutoCompactionRetention int
	EnablePprof                         bool
	PrintVersion                        bool

	// DataDirDefaulted is true when --data-dir was not given and DataDir was
	// derived from the name; the start-up logs warn about it.
	DataDirDefaulted bool

	// The deprecated 0.4 address flags, as given (host:port or "").
	addr, bindAddr, peerAddr, peerBindAddr addrValue

	// explicit holds the flags set on the command line or from the environment.
	explicit map[string]bool

	// walSyncLog records each WAL fsync when V2ETCD_WAL_SYNC_LOG is set (a
	// testing aid, see walsynclog.go); nil otherwise.
	walSyncLog *walSyncLog
}

// newConfig returns a Config holding every default.
func newConfig() *Config {
	return &Config{
		Name:                     defaultName,
		SnapshotCount:            defaultSnapshotCount,
		HeartbeatMs:              defaultHeartbeatMs,
		ElectionMs:               defaultElectionMs,
		ListenPeerURLs:           peer.MustParseURLs(defaultPeerURL),
		ListenClientURLs:         peer.MustParseURLs(defaultClientURL),
		MaxSnapshots:             defaultMaxSnapshots,
		MaxWALs:                  defaultMaxWALs,
		InitialAdvertisePeerURLs: peer.MustParseURLs(defaultPeerURL),
		InitialCluster:           initialClusterFromName(defaultName),
		InitialClusterState:      clusterStateNew,
		InitialClusterToken:      defaultInitialClusterToken,
		AdvertiseClientURLs:      peer.MustParseURLs(defaultClientURL),
		DiscoveryFallback:        fallbackProxy,
		Proxy:                    proxyOff,
		ProxyFailureWaitMs:       5000,
		ProxyRefreshIntervalMs:   30000,
		ProxyDialTimeoutMs:       1000,
		ProxyWriteTimeoutMs:      5000,
		ProxyReadTimeoutMs:       0,
		ExperimentalGRPCAddr:     defaultGRPCAddr,
		explicit:                 map[string]bool{},
	}
}

// flagSet declares every flag on a new FlagSet bound to c's fields. Flag
// errors go to stderr, the usage text to stdout (as etcd does), and the
// warnings of the ignored 0.4 flags to log.
func (c *Config) flagSet(stdout, stderr io.Writer, log *slog.Logger) *flag.FlagSet {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, usageText) }

	// Member.
	fs.StringVar(&c.Name, "name", c.Name, "")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "")
	fs.StringVar(&c.WALDir, "wal-dir", c.WALDir, "")
	fs.Uint64Var(&c.SnapshotCount, "snapshot-count", c.SnapshotCount, "")
	fs.UintVar(&c.HeartbeatMs, "heartbeat-interval", c.HeartbeatMs, "")
	fs.UintVar(&c.ElectionMs, "election-timeout", c.ElectionMs, "")
	fs.Var(&c.ListenPeerURLs, "listen-peer-urls", "")
	fs.Var(&c.ListenClientURLs, "listen-client-urls", "")
	fs.UintVar(&c.MaxSnapshots, "max-snapshots", c.MaxSnapshots, "")
	fs.UintVar(&c.MaxWALs, "max-wals", c.MaxWALs, "")
	fs.Var(&c.CORS, "cors", "")

	// Clustering.
	fs.Var(&c.InitialAdvertisePeerURLs, "initial-advertise-peer-urls", "")
	fs.StringVar(&c.InitialCluster, "initial-cluster", c.InitialCluster, "")
	fs.Var(newEnumValue(&c.InitialClusterState, clusterStateNew, clusterStateExisting), "initial-cluster-state", "")
	fs.StringVar(&c.InitialClusterToken, "initial-cluster-token", c.InitialClusterToken, "")
	fs.Var(&c.AdvertiseClientURLs, "advertise-client-urls", "")
	fs.StringVar(&c.Discovery, "discovery", c.Discovery, "")
	fs.Var(newEnumValue(&c.DiscoveryFallback, fallbackExit, fallbackProxy), "discovery-fallback", "")
	fs.StringVar(&c.DiscoveryProxy, "discovery-proxy", c.DiscoveryProxy, "")
	fs.StringVar(&c.DiscoverySRV, "discovery-srv", c.DiscoverySRV, "")
	fs.BoolVar(&c.StrictReconfigCheck, "strict-reconfig-check", c.StrictReconfigCheck, "")

	// Proxy.
	fs.Var(newEnumValue(&c.Proxy, proxyOff, proxyReadonly, proxyOn), "proxy", "")
	fs.UintVar(&c.ProxyFailureWaitMs, "proxy-failure-wait", c.ProxyFailureWaitMs, "")
	fs.UintVar(&c.ProxyRefreshIntervalMs, "proxy-refresh-interval", c.ProxyRefreshIntervalMs, "")
	fs.UintVar(&c.ProxyDialTimeoutMs, "proxy-dial-timeout", c.ProxyDialTimeoutMs, "")
	fs.UintVar(&c.ProxyWriteTimeoutMs, "proxy-write-timeout", c.ProxyWriteTimeoutMs, "")
	fs.UintVar(&c.ProxyReadTimeoutMs, "proxy-read-timeout", c.ProxyReadTimeoutMs, "")

	// Security.
	fs.StringVar(&c.ClientTLS.CAFile, "ca-file", "", "")
	fs.StringVar(&c.ClientTLS.CertFile, "cert-file", "", "")
	fs.StringVar(&c.ClientTLS.KeyFile, "key-file", "", "")
	fs.BoolVar(&c.ClientTLS.ClientCertAuth, "client-cert-auth", false, "")
	fs.StringVar(&c.ClientTLS.TrustedCAFile, "trusted-ca-file", "", "")
	fs.StringVar(&c.PeerTLS.CAFile, "peer-ca-file", "", "")
	fs.StringVar(&c.PeerTLS.CertFile, "peer-cert-file", "", "")
	fs.StringVar(&c.PeerTLS.KeyFile, "peer-key-file", "", "")
	fs.BoolVar(&c.PeerTLS.ClientCertAuth, "peer-client-cert-auth", false, "")
	fs.StringVar(&c.PeerTLS.TrustedCAFile, "peer-trusted-ca-file", "", "")

	// Logging.
	fs.BoolVar(&c.Debug, "debug", c.Debug, "")
	fs.StringVar(&c.LogPackageLevels, "log-package-levels", c.LogPackageLevels, "")

	// Unsafe, experimental, profiling, version.
	fs.BoolVar(&c.ForceNewCluster, "force-new-cluster", c.ForceNewCluster, "")
	fs.BoolVar(&c.ExperimentalV3Demo, "experimental-v3demo", c.ExperimentalV3Demo, "")
	fs.StringVar(&c.ExperimentalGRPCAddr, "experimental-gRPC-addr", c.ExperimentalGRPCAddr, "")
	fs.IntVar(&c.ExperimentalAutoCompactionRetention, "experimental-auto-compaction-retention", c.ExperimentalAutoCompactionRetention, "")
	fs.BoolVar(&c.EnablePprof, "enable-pprof", c.EnablePprof, "")
	fs.BoolVar(&c.PrintVersion, "version", c.PrintVersion, "")

	// Deprecated 0.4 flags that still work, and those that are refused or ignored.
	fs.Var(&c.addr, "addr", "")
	fs.Var(&c.bindAddr, "bind-addr", "")
	fs.Var(&c.peerAddr, "peer-addr", "")
	fs.Var(&c.peerBindAddr, "peer-bind-addr", "")
	fs.Var(removedFlag("peers"), "peers", "")
	fs.Var(removedFlag("peers-file"), "peers-file", "")
	flagLog := log.With(pkgKey, "flags")
	for _, name := range ignoredFlags {
		fs.Var(ignoredFlag{name: name, log: flagLog}, name, "")
	}
	return fs
}

// parseConfig turns the command line args (without the program name) and
// the environment (os.Environ's form) into a checked Config. It writes
// everything the user must see itself: help and version to stdout, flag
// package errors to stderr, everything else as log lines on log.
//
//   - cfg != nil: start the server with it (code 0, err nil);
//   - cfg == nil, err == nil: help or version was printed, exit with code 0;
//   - err != nil: the problem has been reported, exit with code (1 or 2); err
//     is returned for tests and callers that want to look at it.
func parseConfig(args, environ []string, stdout, stderr io.Writer, log *slog.Logger) (cfg *Config, code int, err error) {
	c := newConfig()
	fs := c.flagSet(stdout, stderr, log)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, helpText)
			return nil, 0, nil
		}
		return nil, 2, err // the flag package has printed it and the usage
	}
	if fs.NArg() > 0 {
		return nil, 1, reportVerifyError(log, fmt.Errorf("'%s' is not a valid flag", fs.Arg(0)))
	}
	if c.PrintVersion {
		printVersion(stdout)
		return nil, 0, nil
	}
	if err := applyEnv(fs, environ, log.With(pkgKey, "flags")); err != nil {
		logAt(log, levelCritical, err.Error())
		return nil, 1, err
	}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if err := c.check(fs); err != nil {
		return nil, 1, reportVerifyError(log, err)
	}
	c.deriveDefaults()
	return c, 0, nil
}

// reportVerifyError logs a failed flag check as etcd does and returns err.
func reportVerifyError(log *slog.Logger, err error) error {
	log.Error("error verifying flags, " + err.Error() + ". See 'etcd --help'.")
	if errors.Is(err, errUnsetAdvertiseClientURL) {
		log.Error(advertiseClientURLHint)
	}
	return err
}

// logAt logs msg at level l, for the levels slog.Logger has no method for.
func logAt(log *slog.Logger, l slog.Level, msg string) {
	log.Log(context.Background(), l, msg)
}

// envName returns the environment variable for the flag name.
func envName(flagName string) string {
	return "ETCD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag the command line left unset from its ETCD_*
// variable in environ, when that is not empty, and logs what it did:
//
//   - for each flag, in name order: INFO "recognized and used environment
//     variable ETCD_X=v" (after setting it, so an ignored flag's warning comes
//     first);
//   - then, for each other ETCD_* variable in environ order: INFO "recognized
//     environment variable ETCD_X, but unused: shadowed by corresponding
//     flag" when the command line set that flag, and otherwise WARNING
//     "unrecognized environment variable ETCD_X=v" (which, as in etcd, also
//     covers a known variable set to the empty string).
//
// A value the flag refuses gives `invalid value "v" for ETCD_X: <reason>`;
// when there are several, the last in flag-name order is returned, as etcd
// reports it, after all the lines above.
func applyEnv(fs *flag.FlagSet, environ []string, log *slog.Logger) error {
	// The first occurrence of a name is its value, as os.Getenv sees it.
	values := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := values[k]; !dup {
			values[k] = v
		}
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[envName(f.Name)] = true })

	used := map[string]bool{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := envName(f.Name)
		v := values[key]
		if onCommandLine[key] || v == "" {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("invalid value %q for %s: %v", v, key, serr)
		}
		used[key] = true
		log.Info(fmt.Sprintf("recognized and used environment variable %s=%s", key, v))
	})
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "ETCD_") || used[k] {
			continue
		}
		if onCommandLine[k] {
			log.Info(fmt.Sprintf("recognized environment variable %s, but unused: shadowed by corresponding flag", k))
			continue
		}
		log.Warn(fmt.Sprintf("unrecognized environment variable %s=%s", k, v))
	}
	return err
}

// isSet reports whether the flag was given on the command line or in the environment.
func (c *Config) isSet(name string) bool { return c.explicit[name] }

// mayBeProxy reports whether this process may end up a proxy: --proxy is not
// off, or --discovery is set and a full cluster makes it fall back to a proxy.
func (c *Config) mayBeProxy() bool {
	return c.Proxy != proxyOff || (c.isSet("discovery") && c.DiscoveryFallback == fallbackProxy)
}

// check runs the cross-flag checks in etcd's order and folds the deprecated
// address flags into the URL lists.
func (c *Config) check(fs *flag.FlagSet) error {
	// 1. One way to bootstrap.
	n := 0
	for _, name := range []string{"discovery", "initial-cluster", "discovery-srv"} {
		if c.isSet(name) {
			n++
		}
	}
	if n > 1 {
		return errConflictBootstrapFlags
	}

	// 2. The 0.4 address flags. An -addr without its -bind-addr listens on
	// every interface at the same port; that counts as setting -bind-addr.
	for _, p := range [][2]string{{"peer-bind-addr", "peer-addr"}, {"bind-addr", "addr"}} {
		bind, adv := p[0], p[1]
		if c.isSet(adv) && !c.isSet(bind) {
			_, port, _ := net.SplitHostPort(fs.Lookup(adv).Value.String())
			if err := fs.Set(bind, net.JoinHostPort("::", port)); err != nil {
				return fmt.Errorf("-%s: %w", bind, err)
			}
			c.explicit[bind] = true
		}
	}
	folds := []struct {
		urls     *peer.URLs
		urlsFlag string
		addr     addrValue
		addrFlag string
		tls      tlsInfo
	}{
		{&c.ListenPeerURLs, "listen-peer-urls", c.peerBindAddr, "peer-bind-addr", c.PeerTLS},
		{&c.InitialAdvertisePeerURLs, "initial-advertise-peer-urls", c.peerAddr, "peer-addr", c.PeerTLS},
		{&c.ListenClientURLs, "listen-client-urls", c.bindAddr, "bind-addr", c.ClientTLS},
		{&c.AdvertiseClientURLs, "advertise-client-urls", c.addr, "addr", c.ClientTLS},
	}
	for _, f := range folds {
		if !c.isSet(f.addrFlag) {
			continue
		}
		if c.isSet(f.urlsFlag) {
			return fmt.Errorf("Set only one of flags -%s and -%s", f.urlsFlag, f.addrFlag)
		}
		scheme := "http"
		if !f.tls.empty() {
			scheme = "https"
		}
		us, err := peer.NewURLs([]string{scheme + "://" + f.addr.String()})
		if err != nil {
			return fmt.Errorf("-%s: %w", f.addrFlag, err)
		}
		*f.urls = us
	}

	// 3. A member that listens on chosen addresses must say where clients reach it.
	if !c.mayBeProxy() && c.isSet("listen-client-urls") && !c.isSet("advertise-client-urls") {
		return errUnsetAdvertiseClientURL
	}

	// 4. Timing. A zero heartbeat would make the raft tick meaningless (etcd
	// 2.3 crashes on it); we refuse it first.
	if c.HeartbeatMs == 0 {
		return fmt.Errorf("-heartbeat-interval[0ms] must be greater than 0")
	}
	if c.HeartbeatMs > c.ElectionMs/5 { // c.ElectionMs < 5*c.HeartbeatMs, without overflow
		return fmt.Errorf("-election-timeout[%dms] should be at least as 5 times as -heartbeat-interval[%dms]", c.ElectionMs, c.HeartbeatMs)
	}
	if c.ElectionMs > maxElectionMs {
		return fmt.Errorf("-election-timeout[%dms] is too long, and should be set less than %dms", c.ElectionMs, maxElectionMs)
	}
	return nil
}

// deriveDefaults fills the defaults that depend on other settings.
func (c *Config) deriveDefaults() {
	if c.Name != defaultName && c.InitialCluster == initialClusterFromName(defaultName) {
		c.InitialCluster = initialClusterFromName(c.Name)
	}
	if c.DataDir == "" {
		c.DataDir = c.Name + ".etcd"
		c.DataDirDefaulted = true
	}
}

// memberDir is where the member's WAL and snapshots live.
func (c *Config) memberDir() string { return filepath.Join(c.DataDir, "member") }

// walDir is the WAL directory: --wal-dir, or <data-dir>/member/wal.
func (c *Config) walDir() string {
	if c.WALDir != "" {
		return c.WALDir
	}
	return filepath.Join(c.memberDir(), "wal")
}

// snapshotCount is --snapshot-count, with 0 meaning the default.
func (c *Config) snapshotCount() uint64 {
	if c.SnapshotCount == 0 {
		return defaultSnapshotCount
	}
	return c.SnapshotCount
}

// electionTicks is the election timeout in raft ticks (heartbeats).
func (c *Config) electionTicks() int { return int(c.ElectionMs / c.HeartbeatMs) }

// logStart logs the first lines of a start: the version lines, the
// processor count, and the warning about a defaulted data directory.
func (c *Config) logStart(log *slog.Logger) {
	logVersion(log)
	if c.DataDirDefaulted {
		log.Warn("no data-dir provided, using default data-dir ./" + c.DataDir)
	}
}

// logServerSummary logs the member's settings as etcdserver does when it
// starts. cluster is the initial cluster when bootstrapping (nil on a
// restart from an existing WAL), and adds the initial lines.
func (c *Config) logServerSummary(log *slog.Logger, cluster discover.InitialCluster) {
	log = log.With(pkgKey, "etcdserver")
	log.Info("name = " + c.Name)
	if c.ForceNewCluster {
		log.Info("force new cluster")
	}
	log.Info("data dir = " + c.DataDir)
	log.Info("member dir = " + c.memberDir())
	if c.WALDir != "" {
		log.Info("dedicated WAL dir = " + c.WALDir)
	}
	log.Info(fmt.Sprintf("heartbeat = %dms", c.HeartbeatMs))
	log.Info(fmt.Sprintf("election = %dms", uint(c.electionTicks())*c.HeartbeatMs))
	log.Info(fmt.Sprintf("snapshot count = %d", c.SnapshotCount))
	if c.Discovery != "" {
		log.Info("discovery URL= " + c.Discovery)
		if c.DiscoveryProxy != "" {
			log.Info("discovery proxy = " + c.DiscoveryProxy)
		}
	}
	log.Info("advertise client URLs = " + c.AdvertiseClientURLs.String())
	if cluster != nil {
		log.Info("initial advertise peer URLs = " + c.InitialAdvertisePeerURLs.String())
		log.Info("initial cluster = " + cluster.String())
	}
}

// enumValue is a string flag that takes one of a fixed set of values.
type enumValue struct {
	p       *string
	allowed []string
}

func newEnumValue(p *string, allowed ...string) *enumValue {
	return &enumValue{p: p, allowed: allowed}
}

func (e *enumValue) String() string {
	if e == nil || e.p == nil {
		return ""
	}
	return *e.p
}

func (e *enumValue) Set(s string) error {
	if !slices.Contains(e.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(e.allowed, ", "))
	}
	*e.p = s
	return nil
}

// corsOrigins is the --cors list: origins allowed to make cross-origin
// requests, "*" for any. Each entry other than "*" must parse as a URL.
type corsOrigins []string

func (o *corsOrigins) String() string {
	if o == nil {
		return ""
	}
	return strings.Join(*o, ",")
}

// Set replaces the list with the comma-separated origins in s, trimmed,
// without empty entries or repeats, sorted.
func (o *corsOrigins) Set(s string) error {
	var out corsOrigins
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" || slices.Contains(out, item) {
			continue
		}
		if item != "*" {
			if _, err := url.Parse(item); err != nil {
				return fmt.Errorf("invalid CORS origin: %w", err)
			}
		}
		out = append(out, item)
	}
	slices.Sort(out)
	*o = out
	return nil
}

// addrValue is a deprecated 0.4 address flag: a literal IP and a port.
type addrValue struct{ hostPort string }

func (a *addrValue) String() string {
	if a == nil {
		return ""
	}
	return a.hostPort
}

// Set accepts ip:port with a literal IP (IPv6 in brackets) and a port from 0
// to 65535. etcd 2.3 did not check the port's range; an out-of-range port
// then failed later, when listening.
func (a *addrValue) Set(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if net.ParseIP(host) == nil {
		return errors.New("bad IP in address specification")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return errors.New("bad port in address specification")
	}
	a.hostPort = net.JoinHostPort(host, port)
	return nil
}

// removedFlag is an etcd 0.4 flag that is refused whatever its value.
type removedFlag string

func (r removedFlag) String() string { return "" }

func (r removedFlag) Set(string) error {
	return fmt.Errorf("flag \"-%s\" is no longer supported.", string(r))
}

// ignoredFlag is an etcd 0.4 flag that is accepted, as a boolean or with a
// value, and only warned about.
type ignoredFlag struct {
	name string
	log  *slog.Logger
}

func (f ignoredFlag) String() string   { return "" }
func (f ignoredFlag) IsBoolFlag() bool { return true }

func (f ignoredFlag) Set(string) error {
	f.log.Warn(fmt.Sprintf("flag \"-%s\" is no longer supported - ignoring.", f.name))
	return nil
}
