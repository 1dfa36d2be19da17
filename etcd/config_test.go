package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"v2etcd/httpd"
)

// fixedNow is the clock of every test logger.
func fixedNow() time.Time { return time.Date(2016, 6, 10, 16, 53, 22, 42458000, time.UTC) }

const stamp = "2016-06-10 16:53:22.042458 "

type parsed struct {
	cfg            *Config
	code           int
	err            error
	stdout, stderr string
	log            string
}

// parse runs parseConfig with args and environ and captures everything it writes.
func parse(t *testing.T, args []string, environ ...string) parsed {
	t.Helper()
	var out, errOut, logBuf bytes.Buffer
	log := slog.New(newLogHandler(&logBuf, fixedNow))
	cfg, code, err := parseConfig(args, environ, &out, &errOut, log)
	if (cfg != nil) == (err != nil) && !(cfg == nil && err == nil) {
		t.Fatalf("parseConfig(%q) returned both a config and an error: %v", args, err)
	}
	if err != nil && code == 0 {
		t.Fatalf("parseConfig(%q) returned error %v with exit code 0", args, err)
	}
	return parsed{cfg: cfg, code: code, err: err, stdout: out.String(), stderr: errOut.String(), log: logBuf.String()}
}

// mustParse parses and fails the test unless a config comes back.
func mustParse(t *testing.T, args []string, environ ...string) *Config {
	t.Helper()
	p := parse(t, args, environ...)
	if p.cfg == nil {
		t.Fatalf("parseConfig(%q, %q): code %d, err %v\nstderr: %s\nlog: %s", args, environ, p.code, p.err, p.stderr, p.log)
	}
	return p.cfg
}

func TestDefaults(t *testing.T) {
	p := parse(t, nil)
	c := p.cfg
	if c == nil || p.code != 0 || p.log != "" || p.stdout != "" || p.stderr != "" {
		t.Fatalf("no flags: %+v", p)
	}
	checks := []struct{ name, got, want string }{
		{"name", c.Name, "default"},
		{"data dir", c.DataDir, "default.etcd"},
		{"wal dir", c.walDir(), "default.etcd/member/wal"},
		{"listen peer", c.ListenPeerURLs.String(), "http://localhost:2380"},
		{"listen client", c.ListenClientURLs.String(), "http://localhost:2379"},
		{"advertise peer", c.InitialAdvertisePeerURLs.String(), "http://localhost:2380"},
		{"advertise client", c.AdvertiseClientURLs.String(), "http://localhost:2379"},
		{"initial cluster", c.InitialCluster, "default=http://localhost:2380"},
		{"state", c.InitialClusterState, "new"},
		{"token", c.InitialClusterToken, "etcd-cluster"},
		{"fallback", c.DiscoveryFallback, "proxy"},
		{"proxy", c.Proxy, "off"},
		{"grpc", c.ExperimentalGRPCAddr, "127.0.0.1:2378"},
		{"cors", c.CORS.String(), ""},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("default %s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	nums := []struct {
		name      string
		got, want uint64
	}{
		{"snapshot count", c.SnapshotCount, 10000},
		{"heartbeat", uint64(c.HeartbeatMs), 100},
		{"election", uint64(c.ElectionMs), 1000},
		{"election ticks", uint64(c.electionTicks()), 10},
		{"max snapshots", uint64(c.MaxSnapshots), 5},
		{"max wals", uint64(c.MaxWALs), 5},
		{"proxy failure wait", uint64(c.ProxyFailureWaitMs), 5000},
		{"proxy refresh", uint64(c.ProxyRefreshIntervalMs), 30000},
		{"proxy dial", uint64(c.ProxyDialTimeoutMs), 1000},
		{"proxy write", uint64(c.ProxyWriteTimeoutMs), 5000},
		{"proxy read", uint64(c.ProxyReadTimeoutMs), 0},
		{"auto compaction", uint64(c.ExperimentalAutoCompactionRetention), 0},
	}
	for _, n := range nums {
		if n.got != n.want {
			t.Errorf("default %s = %d, want %d", n.name, n.got, n.want)
		}
	}
	if !c.DataDirDefaulted || c.Debug || c.StrictReconfigCheck || c.ForceNewCluster || c.EnablePprof || c.ExperimentalV3Demo {
		t.Errorf("default booleans wrong: %+v", c)
	}
	if len(c.explicit) != 0 {
		t.Errorf("no flag given, but explicit = %v", c.explicit)
	}
}

func TestFlagForms(t *testing.T) {
	tests := []struct {
		args []string
		get  func(*Config) string
		want string
	}{
		{[]string{"-name", "a"}, func(c *Config) string { return c.Name }, "a"},
		{[]string{"--name", "a"}, func(c *Config) string { return c.Name }, "a"},
		{[]string{"-name=a"}, func(c *Config) string { return c.Name }, "a"},
		{[]string{"--name=a"}, func(c *Config) string { return c.Name }, "a"},
		{[]string{"--name", "a", "--name", "b"}, func(c *Config) string { return c.Name }, "b"},
		{[]string{"--debug"}, func(c *Config) string { return boolStr(c.Debug) }, "true"},
		{[]string{"-debug=true"}, func(c *Config) string { return boolStr(c.Debug) }, "true"},
		{[]string{"--debug=false"}, func(c *Config) string { return boolStr(c.Debug) }, "false"},
		{[]string{"--debug=1"}, func(c *Config) string { return boolStr(c.Debug) }, "true"},
		{[]string{"--"}, func(c *Config) string { return c.Name }, "default"},
		{[]string{"--snapshot-count", "0"}, func(c *Config) string { return itoa(c.snapshotCount()) }, "10000"},
		{[]string{"--snapshot-count", "18446744073709551615"}, func(c *Config) string { return itoa(c.SnapshotCount) }, "18446744073709551615"},
		{[]string{"--initial-cluster-state", "existing"}, func(c *Config) string { return c.InitialClusterState }, "existing"},
		{[]string{"--proxy", "readonly"}, func(c *Config) string { return c.Proxy }, "readonly"},
		{[]string{"--proxy", "on"}, func(c *Config) string { return c.Proxy }, "on"},
		{[]string{"--discovery-fallback", "exit"}, func(c *Config) string { return c.DiscoveryFallback }, "exit"},
		{[]string{"--cors", " http://b.example , *, ,http://a.example,*"}, func(c *Config) string { return c.CORS.String() }, "*,http://a.example,http://b.example"},
		{[]string{"--wal-dir", "/w"}, func(c *Config) string { return c.walDir() }, "/w"},
		{[]string{"--data-dir", "d"}, func(c *Config) string { return c.walDir() }, "d/member/wal"},
		{[]string{"--experimental-gRPC-addr", "x:1"}, func(c *Config) string { return c.ExperimentalGRPCAddr }, "x:1"},
		{[]string{"--experimental-auto-compaction-retention", "-1"}, func(c *Config) string { return itoa(uint64(c.ExperimentalAutoCompactionRetention + 2)) }, "1"},
		{
			[]string{"--listen-peer-urls", "http://b:2, http://a:1", "--initial-advertise-peer-urls", "https://x:1"},
			func(c *Config) string { return c.ListenPeerURLs.String() + " " + c.InitialAdvertisePeerURLs.String() },
			"http://a:1,http://b:2 https://x:1",
		},
		{
			[]string{"--listen-client-urls", "http://0.0.0.0:2379", "--advertise-client-urls", "http://10.0.0.1:2379,http://10.0.0.1:4001"},
			func(c *Config) string { return c.ListenClientURLs.String() + " " + c.AdvertiseClientURLs.String() },
			"http://0.0.0.0:2379 http://10.0.0.1:2379,http://10.0.0.1:4001",
		},
		{
			[]string{"--cert-file", "c", "--key-file", "k", "--trusted-ca-file", "t", "--client-cert-auth", "--peer-ca-file", "p", "--peer-cert-file", "pc", "--peer-key-file", "pk", "--peer-trusted-ca-file", "pt", "--peer-client-cert-auth"},
			func(c *Config) string {
				return strings.Join([]string{c.ClientTLS.CertFile, c.ClientTLS.KeyFile, c.ClientTLS.TrustedCAFile, boolStr(c.ClientTLS.ClientCertAuth),
					c.PeerTLS.CAFile, c.PeerTLS.CertFile, c.PeerTLS.KeyFile, c.PeerTLS.TrustedCAFile, boolStr(c.PeerTLS.ClientCertAuth)}, " ")
			},
			"c k t true p pc pk pt true",
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args)
		if got := tt.get(c); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.args, got, tt.want)
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestTLSInfo(t *testing.T) {
	tests := []struct {
		args    []string
		empty   bool
		cas     string
		require bool
	}{
		{nil, true, "", false},
		{[]string{"--cert-file", "c"}, false, "", false},
		{[]string{"--key-file", "k"}, false, "", false},
		{[]string{"--trusted-ca-file", "t"}, true, "t", false},
		{[]string{"--ca-file", "a"}, true, "a", true},
		{[]string{"--ca-file", "a", "--trusted-ca-file", "t"}, true, "t a", true},
		{[]string{"--ca-file", "a", "--trusted-ca-file", "a"}, true, "a", true},
		{[]string{"--client-cert-auth", "--trusted-ca-file", "t"}, true, "t", true},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args)
		ti := c.ClientTLS
		if ti.empty() != tt.empty || strings.Join(ti.caFiles(), " ") != tt.cas || ti.requireClientCert() != tt.require {
			t.Errorf("%q: empty %v, CA files %q, require %v", tt.args, ti.empty(), ti.caFiles(), ti.requireClientCert())
		}
	}
}

func TestCORSAllows(t *testing.T) {
	// allows reports whether the parsed --cors list lets the client API
	// and the proxy (httpd.CORS) answer a request from origin.
	allows := func(c *Config, origin string) bool {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v2/keys/", nil)
		r.Header.Set("Origin", origin)
		httpd.CORS(w, r, c.CORS)
		return w.Header().Get("Access-Control-Allow-Origin") != ""
	}
	c := mustParse(t, []string{"--cors", "http://a.example"})
	if !allows(c, "http://a.example") || allows(c, "http://b.example") {
		t.Errorf("cors %q allows the wrong origins", c.CORS)
	}
	c = mustParse(t, []string{"--cors", "*"})
	if !allows(c, "http://anything") {
		t.Errorf("cors * does not allow every origin")
	}
	c = mustParse(t, nil)
	if allows(c, "http://a.example") {
		t.Errorf("no --cors allows an origin")
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--h", "-help", "--help", "--help=false"} {
		p := parse(t, []string{"--name", "x", arg, "--nonsense"}, "ETCD_FOO=1")
		if p.cfg != nil || p.code != 0 || p.err != nil {
			t.Fatalf("%s: cfg %v, code %d, err %v", arg, p.cfg, p.code, p.err)
		}
		if p.stdout != usageText+helpText || p.stderr != "" || p.log != "" {
			t.Errorf("%s: stdout %q\nstderr %q\nlog %q", arg, p.stdout, p.stderr, p.log)
		}
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	c := newConfig()
	fs := c.flagSet(io.Discard, io.Discard, slog.New(newLogHandler(io.Discard, fixedNow)))
	all := usageText + helpText
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(all, "-"+f.Name+" ") && !strings.Contains(all, "-"+f.Name+",") && !strings.Contains(all, "-"+f.Name+"\n") {
			t.Errorf("help does not mention -%s", f.Name)
		}
	})
	for _, heading := range []string{"member flags:", "clustering flags:", "proxy flags:", "security flags:", "logging flags:", "unsafe flags:", "experimental flags:", "profiling flags:"} {
		if !strings.Contains(helpText, "\n"+heading+"\n") {
			t.Errorf("help lacks the heading %q", heading)
		}
	}
	for _, l := range []string{"usage: etcd [flags]", "etcd --version", "etcd -h | --help"} {
		if !strings.Contains(usageText, l) {
			t.Errorf("usage lacks %q", l)
		}
	}
	// The defaults the help shows are the real ones.
	for _, d := range []string{
		"--name 'default'", "--snapshot-count '10000'", "--heartbeat-interval '100'", "--election-timeout '1000'",
		"--listen-peer-urls '" + c.ListenPeerURLs.String() + "'", "--listen-client-urls '" + c.ListenClientURLs.String() + "'",
		"--initial-advertise-peer-urls '" + c.InitialAdvertisePeerURLs.String() + "'", "--initial-cluster '" + c.InitialCluster + "'",
		"--advertise-client-urls '" + c.AdvertiseClientURLs.String() + "'", "--initial-cluster-token '" + c.InitialClusterToken + "'",
		"--experimental-gRPC-addr '" + c.ExperimentalGRPCAddr + "'",
	} {
		if !strings.Contains(helpText, d) {
			t.Errorf("help lacks %q", d)
		}
	}
	if strings.Contains(helpText, "4001") || strings.Contains(helpText, "7001") {
		t.Errorf("help mentions the legacy ports")
	}
}

func TestVersion(t *testing.T) {
	want := "etcd Version: 2.3.8\n" +
		"Git SHA: Not provided (use ./build instead of go build)\n" +
		"Go Version: " + runtime.Version() + "\n" +
		"Go OS/Arch: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, args := range [][]string{{"--version"}, {"-version"}, {"--version=true"}, {"--name", "x", "--version", "--election-timeout", "1"}} {
		// The environment is not read before --version: no log lines, no fatal bad value.
		p := parse(t, args, "ETCD_FOO=bar", "ETCD_SNAPSHOT_COUNT=abc")
		if p.cfg != nil || p.code != 0 || p.err != nil || p.stdout != want || p.stderr != "" || p.log != "" {
			t.Errorf("%q: %+v", args, p)
		}
	}
	// ETCD_VERSION is applied with the rest of the environment, after the
	// version check, so it prints nothing (as in etcd).
	p := parse(t, nil, "ETCD_VERSION=true")
	if p.cfg == nil || p.stdout != "" {
		t.Errorf("ETCD_VERSION=true: %+v", p)
	}
	// --version=false is no version request.
	if p := parse(t, []string{"--version=false"}); p.cfg == nil {
		t.Errorf("--version=false: %+v", p)
	}
}

func TestPositionalArguments(t *testing.T) {
	tests := []struct {
		args []string
		arg  string
	}{
		{[]string{"foo"}, "foo"},
		{[]string{"--name", "a", "foo", "bar"}, "foo"},
		{[]string{"--debug", "false"}, "false"}, // "-flag false" does not set a boolean
		{[]string{"--", "--name"}, "--name"},
		{[]string{"-"}, "-"},
		{[]string{"--version", "foo"}, "foo"}, // checked before --version
	}
	for _, tt := range tests {
		p := parse(t, tt.args)
		wantErr := "'" + tt.arg + "' is not a valid flag"
		wantLog := stamp + "E | etcdmain: error verifying flags, " + wantErr + ". See 'etcd --help'.\n"
		if p.code != 1 || p.err == nil || p.err.Error() != wantErr || p.log != wantLog || p.stdout != "" || p.stderr != "" {
			t.Errorf("%q: code %d err %v\nlog %q\nwant %q", tt.args, p.code, p.err, p.log, wantLog)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string // first line the flag package prints
	}{
		{[]string{"--foo"}, "flag provided but not defined: -foo"},
		{[]string{"-x=1"}, "flag provided but not defined: -x"},
		{[]string{"--name"}, "flag needs an argument: -name"},
		{[]string{"--snapshot-count", "abc"}, `invalid value "abc" for flag -snapshot-count: parse error`},
		{[]string{"--snapshot-count", "-1"}, `invalid value "-1" for flag -snapshot-count: parse error`},
		{[]string{"--snapshot-count", "18446744073709551616"}, `invalid value "18446744073709551616" for flag -snapshot-count: value out of range`},
		{[]string{"--max-wals", "-1"}, `invalid value "-1" for flag -max-wals: parse error`},
		{[]string{"--heartbeat-interval", "1.5"}, `invalid value "1.5" for flag -heartbeat-interval: parse error`},
		{[]string{"--debug=x"}, `invalid boolean value "x" for -debug: parse error`},
		{[]string{"--initial-cluster-state", "x"}, `invalid value "x" for flag -initial-cluster-state: must be one of new, existing`},
		{[]string{"--initial-cluster-state", "New"}, `invalid value "New" for flag -initial-cluster-state: must be one of new, existing`},
		{[]string{"--proxy", "bad"}, `invalid value "bad" for flag -proxy: must be one of off, readonly, on`},
		{[]string{"--discovery-fallback", "x"}, `invalid value "x" for flag -discovery-fallback: must be one of exit, proxy`},
		{[]string{"--listen-client-urls", ""}, `invalid value "" for flag -listen-client-urls: URL scheme must be http or https: `},
		{[]string{"--listen-peer-urls", "http://a:1,"}, `invalid value "http://a:1," for flag -listen-peer-urls: URL scheme must be http or https: `},
		{[]string{"--advertise-client-urls", "unix://a:1"}, `invalid value "unix://a:1" for flag -advertise-client-urls: URL scheme must be http or https: unix://a:1`},
		{[]string{"--initial-advertise-peer-urls", "http://a"}, `invalid value "http://a" for flag -initial-advertise-peer-urls: URL address does not have the form "host:port": http://a`},
		{[]string{"--listen-client-urls", "http://a:1/x"}, `invalid value "http://a:1/x" for flag -listen-client-urls: URL must not contain a path: http://a:1/x`},
		{[]string{"--listen-client-urls", "%zz"}, `invalid value "%zz" for flag -listen-client-urls: parse "%zz": invalid URL escape "%zz"`},
		{[]string{"--cors", "%zz"}, `invalid value "%zz" for flag -cors: invalid CORS origin: parse "%zz": invalid URL escape "%zz"`},
		{[]string{"-addr", "foo:1"}, `invalid value "foo:1" for flag -addr: bad IP in address specification`},
		{[]string{"-addr", "localhost:80"}, `invalid value "localhost:80" for flag -addr: bad IP in address specification`},
		{[]string{"-addr", ":5"}, `invalid value ":5" for flag -addr: bad IP in address specification`},
		{[]string{"-bind-addr", "1.2.3.4:x"}, `invalid value "1.2.3.4:x" for flag -bind-addr: bad port in address specification`},
		{[]string{"-peer-addr", "1.2.3.4:65536"}, `invalid value "1.2.3.4:65536" for flag -peer-addr: bad port in address specification`},
		{[]string{"-peer-bind-addr", "1.2.3.4:-1"}, `invalid value "1.2.3.4:-1" for flag -peer-bind-addr: bad port in address specification`},
		{[]string{"-addr", "1.2.3.4"}, `invalid value "1.2.3.4" for flag -addr: address 1.2.3.4: missing port in address`},
		{[]string{"-peers", "x"}, `invalid value "x" for flag -peers: flag "-peers" is no longer supported.`},
		{[]string{"-peers-file=x"}, `invalid value "x" for flag -peers-file: flag "-peers-file" is no longer supported.`},
		{[]string{"-peers"}, "flag needs an argument: -peers"},
	}
	for _, tt := range tests {
		p := parse(t, tt.args)
		if p.code != 2 || p.err == nil || p.cfg != nil {
			t.Errorf("%q: code %d, err %v", tt.args, p.code, p.err)
			continue
		}
		first, _, _ := strings.Cut(p.stderr, "\n")
		if first != tt.stderr {
			t.Errorf("%q: stderr %q, want first line %q", tt.args, p.stderr, tt.stderr)
		}
		if p.stdout != usageText {
			t.Errorf("%q: stdout %q, want the usage text", tt.args, p.stdout)
		}
	}
}

func TestIgnoredFlags(t *testing.T) {
	for _, name := range ignoredFlags {
		for _, arg := range []string{"-" + name, "--" + name + "=x"} {
			p := parse(t, []string{arg})
			want := stamp + `W | flags: flag "-` + name + `" is no longer supported - ignoring.` + "\n"
			if p.cfg == nil || p.log != want {
				t.Errorf("%s: cfg %v err %v log %q", arg, p.cfg != nil, p.err, p.log)
			}
		}
	}
	// A bare ignored flag does not swallow the next argument.
	c := mustParse(t, []string{"-v", "--name", "x"})
	if c.Name != "x" {
		t.Errorf("-v swallowed an argument")
	}
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		get     func(*Config) string
		want    string
		log     []string // lines without the time stamp
	}{
		{
			name: "used", environ: []string{"ETCD_NAME=envname", "PATH=/bin"},
			get: func(c *Config) string { return c.Name + " " + c.DataDir }, want: "envname envname.etcd",
			log: []string{"I | flags: recognized and used environment variable ETCD_NAME=envname"},
		},
		{
			name: "flag wins", args: []string{"--name", "flagname"}, environ: []string{"ETCD_NAME=envname"},
			get: func(c *Config) string { return c.Name }, want: "flagname",
			log: []string{"I | flags: recognized environment variable ETCD_NAME, but unused: shadowed by corresponding flag"},
		},
		{
			name: "empty is unset", environ: []string{"ETCD_NAME="},
			get: func(c *Config) string { return c.Name }, want: "default",
			log: []string{"W | flags: unrecognized environment variable ETCD_NAME="},
		},
		{
			name: "unrecognized", environ: []string{"ETCD_FOO=bar", "ETCD_=3", "ETCD_UNSUPPORTED_ARCH=arm", "ETCDCTL_ENDPOINT=x", "XETCD_NAME=y"},
			get: func(c *Config) string { return c.Name }, want: "default",
			log: []string{
				"W | flags: unrecognized environment variable ETCD_FOO=bar",
				"W | flags: unrecognized environment variable ETCD_=3",
				"W | flags: unrecognized environment variable ETCD_UNSUPPORTED_ARCH=arm",
			},
		},
		{
			name: "order: used in flag-name order, then the rest in environment order", args: []string{"--name", "n"},
			environ: []string{"ETCD_ZZZ=1", "ETCD_SNAPSHOT_COUNT=7", "ETCD_NAME=x", "ETCD_AAA=2", "ETCD_DEBUG=true", "ETCD_CORS=*"},
			get:     func(c *Config) string { return itoa(c.SnapshotCount) + " " + boolStr(c.Debug) + " " + c.CORS.String() }, want: "7 true *",
			log: []string{
				"I | flags: recognized and used environment variable ETCD_CORS=*",
				"I | flags: recognized and used environment variable ETCD_DEBUG=true",
				"I | flags: recognized and used environment variable ETCD_SNAPSHOT_COUNT=7",
				"W | flags: unrecognized environment variable ETCD_ZZZ=1",
				"I | flags: recognized environment variable ETCD_NAME, but unused: shadowed by corresponding flag",
				"W | flags: unrecognized environment variable ETCD_AAA=2",
			},
		},
		{
			name: "first occurrence wins", environ: []string{"ETCD_NAME=first", "ETCD_NAME=second"},
			get: func(c *Config) string { return c.Name }, want: "first",
			log: []string{"I | flags: recognized and used environment variable ETCD_NAME=first"},
		},
		{
			name: "value with =", environ: []string{"ETCD_INITIAL_CLUSTER=a=http://a:1"},
			get: func(c *Config) string { return c.InitialCluster }, want: "a=http://a:1",
			log: []string{"I | flags: recognized and used environment variable ETCD_INITIAL_CLUSTER=a=http://a:1"},
		},
		{
			name: "mixed case flag name", environ: []string{"ETCD_EXPERIMENTAL_GRPC_ADDR=h:1"},
			get: func(c *Config) string { return c.ExperimentalGRPCAddr }, want: "h:1",
			log: []string{"I | flags: recognized and used environment variable ETCD_EXPERIMENTAL_GRPC_ADDR=h:1"},
		},
		{
			name: "URL list", environ: []string{"ETCD_LISTEN_PEER_URLS=http://b:2,http://a:1"},
			get: func(c *Config) string { return c.ListenPeerURLs.String() }, want: "http://a:1,http://b:2",
			log: []string{"I | flags: recognized and used environment variable ETCD_LISTEN_PEER_URLS=http://b:2,http://a:1"},
		},
		{
			name: "ignored 0.4 flag", environ: []string{"ETCD_V=1", "ETCD_CLUSTER_ACTIVE_SIZE=3"},
			get: func(c *Config) string { return c.Name }, want: "default",
			log: []string{
				`W | flags: flag "-cluster-active-size" is no longer supported - ignoring.`,
				"I | flags: recognized and used environment variable ETCD_CLUSTER_ACTIVE_SIZE=3",
				`W | flags: flag "-v" is no longer supported - ignoring.`,
				"I | flags: recognized and used environment variable ETCD_V=1",
			},
		},
		{
			name: "deprecated address", environ: []string{"ETCD_ADDR=10.0.0.1:4001"},
			get: func(c *Config) string { return c.AdvertiseClientURLs.String() + " " + c.ListenClientURLs.String() }, want: "http://10.0.0.1:4001 http://[::]:4001",
			log: []string{"I | flags: recognized and used environment variable ETCD_ADDR=10.0.0.1:4001"},
		},
	}
	for _, tt := range tests {
		p := parse(t, tt.args, tt.environ...)
		if p.cfg == nil {
			t.Errorf("%s: code %d err %v log %s", tt.name, p.code, p.err, p.log)
			continue
		}
		if got := tt.get(p.cfg); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if got, want := p.log, withStamps(tt.log); got != want {
			t.Errorf("%s: log\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}

func withStamps(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(stamp + l + "\n")
	}
	return b.String()
}

func TestEnvironmentInvalidValue(t *testing.T) {
	tests := []struct {
		environ []string
		err     string
		log     []string
	}{
		{
			environ: []string{"ETCD_SNAPSHOT_COUNT=abc"},
			err:     `invalid value "abc" for ETCD_SNAPSHOT_COUNT: parse error`,
			log: []string{
				"I | flags: recognized and used environment variable ETCD_SNAPSHOT_COUNT=abc",
				`C | etcdmain: invalid value "abc" for ETCD_SNAPSHOT_COUNT: parse error`,
			},
		},
		{
			environ: []string{"ETCD_DEBUG=yes"},
			err:     `invalid value "yes" for ETCD_DEBUG: parse error`,
			log: []string{
				"I | flags: recognized and used environment variable ETCD_DEBUG=yes",
				`C | etcdmain: invalid value "yes" for ETCD_DEBUG: parse error`,
			},
		},
		{
			environ: []string{"ETCD_PEERS=a"},
			err:     `invalid value "a" for ETCD_PEERS: flag "-peers" is no longer supported.`,
			log: []string{
				"I | flags: recognized and used environment variable ETCD_PEERS=a",
				`C | etcdmain: invalid value "a" for ETCD_PEERS: flag "-peers" is no longer supported.`,
			},
		},
		{
			environ: []string{"ETCD_PROXY=maybe"},
			err:     `invalid value "maybe" for ETCD_PROXY: must be one of off, readonly, on`,
			log: []string{
				"I | flags: recognized and used environment variable ETCD_PROXY=maybe",
				`C | etcdmain: invalid value "maybe" for ETCD_PROXY: must be one of off, readonly, on`,
			},
		},
		{
			environ: []string{"ETCD_ADVERTISE_CLIENT_URLS=http://a"},
			err:     `invalid value "http://a" for ETCD_ADVERTISE_CLIENT_URLS: URL address does not have the form "host:port": http://a`,
			log: []string{
				"I | flags: recognized and used environment variable ETCD_ADVERTISE_CLIENT_URLS=http://a",
				`C | etcdmain: invalid value "http://a" for ETCD_ADVERTISE_CLIENT_URLS: URL address does not have the form "host:port": http://a`,
			},
		},
		{
			// Every line comes first; of several bad values the last in flag-name order is reported.
			environ: []string{"ETCD_ZZZ=1", "ETCD_SNAPSHOT_COUNT=abc", "ETCD_HEARTBEAT_INTERVAL=zz"},
			err:     `invalid value "abc" for ETCD_SNAPSHOT_COUNT: parse error`,
			log: []string{
				"I | flags: recognized and used environment variable ETCD_HEARTBEAT_INTERVAL=zz",
				"I | flags: recognized and used environment variable ETCD_SNAPSHOT_COUNT=abc",
				"W | flags: unrecognized environment variable ETCD_ZZZ=1",
				`C | etcdmain: invalid value "abc" for ETCD_SNAPSHOT_COUNT: parse error`,
			},
		},
	}
	for _, tt := range tests {
		p := parse(t, nil, tt.environ...)
		if p.code != 1 || p.err == nil || p.err.Error() != tt.err {
			t.Errorf("%q: code %d err %v, want %q", tt.environ, p.code, p.err, tt.err)
		}
		if want := withStamps(tt.log); p.log != want {
			t.Errorf("%q: log\n%s\nwant\n%s", tt.environ, p.log, want)
		}
	}
}

// verifyLog is the log line of a failed flag check.
func verifyLog(err string) string {
	return stamp + "E | etcdmain: error verifying flags, " + err + ". See 'etcd --help'.\n"
}

func TestCrossFlagChecks(t *testing.T) {
	const conflict = `multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"`
	const advertise = "-advertise-client-urls is required when -listen-client-urls is set explicitly"
	tests := []struct {
		name    string
		args    []string
		environ []string
		err     string // "" means the config is accepted
	}{
		// 1. One way to bootstrap.
		{name: "initial-cluster and discovery", args: []string{"--initial-cluster", "a=http://a:1", "--discovery", "http://d:1/x"}, err: conflict},
		{name: "initial-cluster and srv", args: []string{"--initial-cluster", "a=http://a:1", "--discovery-srv", "example.com"}, err: conflict},
		{name: "discovery and srv", args: []string{"--discovery", "http://d:1/x", "--discovery-srv", "example.com"}, err: conflict},
		{name: "all three", args: []string{"--initial-cluster", "a=http://a:1", "--discovery", "http://d:1/x", "--discovery-srv", "e"}, err: conflict},
		{name: "explicitly set to the default value counts", args: []string{"--initial-cluster", "default=http://localhost:2380", "--discovery", "http://d:1/x"}, err: conflict},
		{name: "set to empty counts", args: []string{"--initial-cluster=", "--discovery", "http://d:1/x"}, err: conflict},
		{name: "one from the environment", args: []string{"--initial-cluster", "a=http://a:1"}, environ: []string{"ETCD_DISCOVERY_SRV=x.example"}, err: conflict},
		{name: "discovery alone", args: []string{"--discovery", "http://d:1/x"}},
		{name: "srv alone", args: []string{"--discovery-srv", "example.com"}},
		{name: "conflict is checked before timing", args: []string{"--discovery", "http://d:1/x", "--discovery-srv", "b", "--election-timeout", "1"}, err: conflict},

		// 2. The deprecated address flags against their new names.
		{name: "addr and advertise", args: []string{"-addr", "127.0.0.1:4001", "--advertise-client-urls", "http://a:1"}, err: "Set only one of flags -advertise-client-urls and -addr"},
		{name: "bind-addr and listen", args: []string{"-bind-addr", "127.0.0.1:4001", "--listen-client-urls", "http://a:1", "--advertise-client-urls", "http://a:1"}, err: "Set only one of flags -listen-client-urls and -bind-addr"},
		{name: "peer-addr and advertise", args: []string{"-peer-addr", "127.0.0.1:7001", "--initial-advertise-peer-urls", "http://a:1"}, err: "Set only one of flags -initial-advertise-peer-urls and -peer-addr"},
		{name: "peer-bind-addr and listen", args: []string{"-peer-bind-addr", "127.0.0.1:7001", "--listen-peer-urls", "http://a:1"}, err: "Set only one of flags -listen-peer-urls and -peer-bind-addr"},
		// -addr sets -bind-addr when that is not given, so it conflicts with --listen-client-urls (as in etcd).
		{name: "addr implies bind-addr", args: []string{"-addr", "127.0.0.1:4001", "--listen-client-urls", "http://127.0.0.1:4001"}, err: "Set only one of flags -listen-client-urls and -bind-addr"},
		{name: "peer-addr implies peer-bind-addr", args: []string{"-peer-addr", "127.0.0.1:7001", "--listen-peer-urls", "http://127.0.0.1:7001"}, err: "Set only one of flags -listen-peer-urls and -peer-bind-addr"},
		{name: "peer pair is checked first", args: []string{"-peer-addr", "127.0.0.1:7001", "--listen-peer-urls", "http://a:1", "-addr", "127.0.0.1:4001", "--advertise-client-urls", "http://a:1"}, err: "Set only one of flags -listen-peer-urls and -peer-bind-addr"},
		{name: "address flags before the advertise check", args: []string{"-peer-addr", "127.0.0.1:7001", "--initial-advertise-peer-urls", "http://a:1", "--listen-client-urls", "http://a:1"}, err: "Set only one of flags -initial-advertise-peer-urls and -peer-addr"},

		// 3. Advertise client URLs with explicit listen client URLs.
		{name: "listen without advertise", args: []string{"--listen-client-urls", "http://127.0.0.1:2379"}, err: advertise},
		{name: "listen from the environment", environ: []string{"ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379"}, err: advertise},
		{name: "listen set to the default value", args: []string{"--listen-client-urls", "http://localhost:2379"}, err: advertise},
		{name: "advertise from the environment", args: []string{"--listen-client-urls", "http://127.0.0.1:2379"}, environ: []string{"ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:2379"}},
		{name: "proxy on", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--proxy", "on"}},
		{name: "proxy readonly", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--proxy", "readonly"}},
		{name: "proxy off", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--proxy", "off"}, err: advertise},
		{name: "discovery may fall back to a proxy", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--discovery", "http://d:1/x"}},
		{name: "discovery that exits", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--discovery", "http://d:1/x", "--discovery-fallback", "exit"}, err: advertise},
		{name: "fallback proxy without discovery", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--discovery-fallback", "proxy"}, err: advertise},
		{name: "bind-addr is not listen-client-urls", args: []string{"-bind-addr", "127.0.0.1:4001"}},
		{name: "advertise check before timing", args: []string{"--listen-client-urls", "http://127.0.0.1:2379", "--election-timeout", "1"}, err: advertise},

		// 4 and 5. Timing.
		{name: "zero heartbeat", args: []string{"--heartbeat-interval", "0"}, err: "-heartbeat-interval[0ms] must be greater than 0"},
		{name: "election below 5 heartbeats", args: []string{"--election-timeout", "499"}, err: "-election-timeout[499ms] should be at least as 5 times as -heartbeat-interval[100ms]"},
		{name: "election exactly 5 heartbeats", args: []string{"--election-timeout", "500"}},
		{name: "election from the environment", environ: []string{"ETCD_ELECTION_TIMEOUT=10"}, err: "-election-timeout[10ms] should be at least as 5 times as -heartbeat-interval[100ms]"},
		{name: "huge heartbeat does not overflow", args: []string{"--heartbeat-interval", "4611686018427387904"}, err: "-election-timeout[1000ms] should be at least as 5 times as -heartbeat-interval[4611686018427387904ms]"},
		{name: "election too long", args: []string{"--election-timeout", "60000", "--heartbeat-interval", "10000"}, err: "-election-timeout[60000ms] is too long, and should be set less than 50000ms"},
		{name: "election at the limit", args: []string{"--election-timeout", "50000", "--heartbeat-interval", "10000"}},
		{name: "five times is checked before too long", args: []string{"--election-timeout", "60000", "--heartbeat-interval", "20000"}, err: "-election-timeout[60000ms] should be at least as 5 times as -heartbeat-interval[20000ms]"},
	}
	for _, tt := range tests {
		p := parse(t, tt.args, tt.environ...)
		if tt.err == "" {
			if p.cfg == nil {
				t.Errorf("%s: refused: %v", tt.name, p.err)
			}
			continue
		}
		if p.code != 1 || p.err == nil || p.err.Error() != tt.err {
			t.Errorf("%s: code %d err %v, want %q", tt.name, p.code, p.err, tt.err)
			continue
		}
		wantLog := verifyLog(tt.err)
		if tt.err == advertise {
			wantLog += stamp + "E | etcdmain: When listening on specific address(es), this etcd process must advertise accessible url(s) to each connected client.\n"
		}
		if !strings.HasSuffix(p.log, wantLog) {
			t.Errorf("%s: log\n%s\nwant it to end with\n%s", tt.name, p.log, wantLog)
		}
	}
}

func TestCrossFlagErrorsAreSentinels(t *testing.T) {
	p := parse(t, []string{"--listen-client-urls", "http://127.0.0.1:2379"})
	if !errors.Is(p.err, errUnsetAdvertiseClientURL) {
		t.Errorf("err %v is not errUnsetAdvertiseClientURL", p.err)
	}
	p = parse(t, []string{"--discovery", "http://d:1/x", "--discovery-srv", "b"})
	if !errors.Is(p.err, errConflictBootstrapFlags) {
		t.Errorf("err %v is not errConflictBootstrapFlags", p.err)
	}
}

func TestDeprecatedAddressFlags(t *testing.T) {
	tests := []struct {
		args                           []string
		lpeer, apeer, lclient, aclient string
	}{
		{
			args:  []string{"-addr", "10.0.0.1:4001"},
			lpeer: "http://localhost:2380", apeer: "http://localhost:2380", lclient: "http://[::]:4001", aclient: "http://10.0.0.1:4001",
		},
		{
			args:  []string{"-addr", "10.0.0.1:4001", "-bind-addr", "127.0.0.1:4002"},
			lpeer: "http://localhost:2380", apeer: "http://localhost:2380", lclient: "http://127.0.0.1:4002", aclient: "http://10.0.0.1:4001",
		},
		{
			args:  []string{"-peer-addr", "10.0.0.1:7001"},
			lpeer: "http://[::]:7001", apeer: "http://10.0.0.1:7001", lclient: "http://localhost:2379", aclient: "http://localhost:2379",
		},
		{
			args:  []string{"-peer-bind-addr", "[::1]:7002", "-peer-addr", "[fd00::1]:7001"},
			lpeer: "http://[::1]:7002", apeer: "http://[fd00::1]:7001", lclient: "http://localhost:2379", aclient: "http://localhost:2379",
		},
		{
			// https when the matching side has a certificate or a key.
			args:  []string{"-addr", "10.0.0.1:4001", "--cert-file", "c", "-peer-addr", "10.0.0.1:7001", "--peer-key-file", "k"},
			lpeer: "https://[::]:7001", apeer: "https://10.0.0.1:7001", lclient: "https://[::]:4001", aclient: "https://10.0.0.1:4001",
		},
		{
			// A CA file alone does not make TLS info non-empty.
			args:  []string{"-addr", "10.0.0.1:4001", "--trusted-ca-file", "t", "-peer-addr", "10.0.0.1:7001", "--peer-cert-file", "c"},
			lpeer: "https://[::]:7001", apeer: "https://10.0.0.1:7001", lclient: "http://[::]:4001", aclient: "http://10.0.0.1:4001",
		},
		{
			args:  []string{"-bind-addr", "0.0.0.0:4001"},
			lpeer: "http://localhost:2380", apeer: "http://localhost:2380", lclient: "http://0.0.0.0:4001", aclient: "http://localhost:2379",
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args)
		got := []string{c.ListenPeerURLs.String(), c.InitialAdvertisePeerURLs.String(), c.ListenClientURLs.String(), c.AdvertiseClientURLs.String()}
		want := []string{tt.lpeer, tt.apeer, tt.lclient, tt.aclient}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q:\n got %q\nwant %q", tt.args, got, want)
		}
	}
}

func TestDerivedDefaults(t *testing.T) {
	tests := []struct {
		args          []string
		environ       []string
		cluster, data string
		dataDefaulted bool
	}{
		{nil, nil, "default=http://localhost:2380", "default.etcd", true},
		{[]string{"--name", "infra0"}, nil, "infra0=http://localhost:2380", "infra0.etcd", true},
		{nil, []string{"ETCD_NAME=infra0"}, "infra0=http://localhost:2380", "infra0.etcd", true},
		// The test compares values: the default value given explicitly is still replaced.
		{[]string{"--name", "infra0", "--initial-cluster", "default=http://localhost:2380"}, nil, "infra0=http://localhost:2380", "infra0.etcd", true},
		{[]string{"--name", "infra0", "--initial-cluster", "infra0=http://10.0.0.1:2380"}, nil, "infra0=http://10.0.0.1:2380", "infra0.etcd", true},
		{[]string{"--name", "infra0", "--data-dir", "/var/lib/etcd"}, nil, "infra0=http://localhost:2380", "/var/lib/etcd", false},
		{[]string{"--data-dir", ""}, nil, "default=http://localhost:2380", "default.etcd", true},
		{[]string{"--name", "x", "--discovery", "http://d:1/x"}, nil, "x=http://localhost:2380", "x.etcd", true},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args, tt.environ...)
		if c.InitialCluster != tt.cluster || c.DataDir != tt.data || c.DataDirDefaulted != tt.dataDefaulted {
			t.Errorf("%q %q: initial cluster %q, data dir %q (defaulted %v)", tt.args, tt.environ, c.InitialCluster, c.DataDir, c.DataDirDefaulted)
		}
	}
}

func TestExplicitFlags(t *testing.T) {
	c := mustParse(t, []string{"--name", "a", "-addr", "10.0.0.1:4001"}, "ETCD_SNAPSHOT_COUNT=5", "ETCD_DEBUG=")
	for _, name := range []string{"name", "addr", "bind-addr", "snapshot-count"} {
		if !c.isSet(name) {
			t.Errorf("%s is not marked as set", name)
		}
	}
	for _, name := range []string{"debug", "data-dir", "listen-client-urls"} {
		if c.isSet(name) {
			t.Errorf("%s is marked as set", name)
		}
	}
}

func TestLogStart(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newLogHandler(&buf, fixedNow))
	c := mustParse(t, []string{"--name", "infra0"})
	c.logStart(log)
	got := buf.String()
	for _, want := range []string{
		stamp + "I | etcdmain: etcd Version: 2.3.8\n",
		stamp + "I | etcdmain: Git SHA: Not provided (use ./build instead of go build)\n",
		stamp + "I | etcdmain: Go Version: " + runtime.Version() + "\n",
		stamp + "I | etcdmain: Go OS/Arch: " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
		stamp + "I | etcdmain: setting maximum number of CPUs to ",
		stamp + "W | etcdmain: no data-dir provided, using default data-dir ./infra0.etcd\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("start log lacks %q:\n%s", want, got)
		}
	}
	buf.Reset()
	c = mustParse(t, []string{"--data-dir", "d"})
	c.logStart(log)
	if strings.Contains(buf.String(), "no data-dir provided") {
		t.Errorf("warned about a data dir that was given")
	}
}

func TestLogServerSummary(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newLogHandler(&buf, fixedNow))
	c := mustParse(t, []string{"--election-timeout", "1050", "--wal-dir", "/w", "--force-new-cluster"})
	cluster, _, err := initialClusterFor(c)
	if err != nil {
		t.Fatal(err)
	}
	c.logServerSummary(log, cluster)
	want := withStamps([]string{
		"I | etcdserver: name = default",
		"I | etcdserver: force new cluster",
		"I | etcdserver: data dir = default.etcd",
		"I | etcdserver: member dir = default.etcd/member",
		"I | etcdserver: dedicated WAL dir = /w",
		"I | etcdserver: heartbeat = 100ms",
		"I | etcdserver: election = 1000ms", // whole ticks
		"I | etcdserver: snapshot count = 10000",
		"I | etcdserver: advertise client URLs = http://localhost:2379",
		"I | etcdserver: initial advertise peer URLs = http://localhost:2380",
		"I | etcdserver: initial cluster = default=http://localhost:2380",
	})
	if buf.String() != want {
		t.Errorf("summary\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	c = mustParse(t, []string{"--discovery", "http://d:1/x", "--discovery-proxy", "http://p:1"})
	c.logServerSummary(log, nil)
	want = withStamps([]string{
		"I | etcdserver: name = default",
		"I | etcdserver: data dir = default.etcd",
		"I | etcdserver: member dir = default.etcd/member",
		"I | etcdserver: heartbeat = 100ms",
		"I | etcdserver: election = 1000ms",
		"I | etcdserver: snapshot count = 10000",
		"I | etcdserver: discovery URL= http://d:1/x",
		"I | etcdserver: discovery proxy = http://p:1",
		"I | etcdserver: advertise client URLs = http://localhost:2379",
	})
	if buf.String() != want {
		t.Errorf("summary on restart\n%s\nwant\n%s", buf.String(), want)
	}
}
