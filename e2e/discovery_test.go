package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"v2etcd/discover/dnstest"
)

// Bootstrapping through discovery: the etcd discovery protocol against a
// registry (our own server), DNS SRV records served by a DNS server of the
// test's own, and the errors of both.

// waitLog waits until p has logged a line containing s.
func waitLog(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.out.String(), s) {
		if p.Exited() {
			t.Fatalf("process exited before logging %q:\n%s", s, p.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 30 s:\n%s", s, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logOrder checks that out holds the lines containing each of want, in
// that order.
func logOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("no %q (in this order) in:\n%s", w, out)
			return
		}
		rest = rest[i+len(w):]
	}
}

// waitGet polls url until it answers 200 and returns the body.
func waitGet(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := httpGetQuiet(url)
		if code == 200 {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s after 30 s", url, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// registryNodes lists the registrations of a discovery URL, oldest first.
func registryNodes(t *testing.T, durl string) []node {
	t.Helper()
	code, _, body := httpDo(t, "GET", durl+"?recursive=true&sorted=true", "")
	if code != 200 {
		return nil
	}
	n := decodeEvent(t, body).Node
	slices.SortFunc(n.Nodes, func(a, b node) int { return int(a.CreatedIndex) - int(b.CreatedIndex) })
	return n.Nodes
}

// memberListLine matches one line of "etcdctl member list".
var memberListLine = regexp.MustCompile(`^([0-9a-f]+): name=(\S+) peerURLs=(\S+) clientURLs=(\S+) isLeader=(true|false)$`)

// memberList runs "etcdctl member list" against endpoint (with env) until
// the cluster has one leader and want members, and returns the names by
// peer URL.
func memberList(t *testing.T, env []string, want int, args ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		stdout, stderr, code := etcdctl(t, env, append(args, "member", "list")...)
		names := map[string]string{}
		leaders := 0
		for line := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
			if m := memberListLine.FindStringSubmatch(line); m != nil {
				names[m[3]] = m[2]
				if m[5] == "true" {
					leaders++
				}
			}
		}
		if code == 0 && len(names) == want && leaders == 1 {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("member list: exit %d, %d leaders\n%s%s", code, leaders, stdout, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// discoveryWalkthroughURLs are the client and peer URLs of the members of
// TestDiscoveryWalkthrough: test1's client URL, its peer URL, test2's ...
func discoveryWalkthroughURLs() []string {
	var urls []string
	for i := 1; i <= 6; i++ {
		urls = append(urls, fmt.Sprintf("http://localhost:%d2379", i), fmt.Sprintf("http://localhost:%d2380", i))
	}
	return urls
}

// TestDiscoveryWalkthrough is the walkthrough of etcd's own documentation,
// literally: a discovery etcd on the default ports, a token of size 5, five
// members test1..test5 on ports 12379/12380 ... 52379/52380, and a sixth
// member that finds the cluster full and becomes a proxy. It uses fixed
// ports (2379, 2380, 12379 ... 62380): run it alone.
func TestDiscoveryWalkthrough(t *testing.T) {
	dir := t.TempDir()
	// The members' ports are held (since the e2e tests started) until each
	// member starts: connections of earlier tests, this test's own
	// connections to the registry and the waiting members' watches of it
	// must not be given one of them as their local port.
	urls := discoveryWalkthroughURLs()
	held := holdPorts(t, urls...)
	ms := make([]*member, 6)
	for i := range ms {
		ms[i] = &member{
			name:      fmt.Sprintf("test%d", i+1),
			dataDir:   filepath.Join(dir, fmt.Sprintf("test%d.etcd", i+1)),
			clientURL: urls[2*i],
			peerURL:   urls[2*i+1],
		}
	}
	reg := &member{name: "discovery", dataDir: filepath.Join(dir, "discovery.etcd"), clientURL: "http://localhost:2379", peerURL: "http://localhost:2380"}
	reg.p = startProc(t, dir, nil, bin.etcd, "--name", "discovery", "--data-dir", reg.dataDir)
	waitReady(t, reg)

	// curl -X PUT http://localhost:2379/v2/keys/_etcd/registry/test/_config/size -d value=5
	code, _, body := httpDo(t, "PUT", "http://localhost:2379/v2/keys/_etcd/registry/test/_config/size", "value=5")
	if code != 201 || !strings.Contains(body, `"key":"/_etcd/registry/test/_config/size","value":"5"`) {
		t.Fatalf("size: %d %s", code, body)
	}
	const durl = "http://localhost:2379/v2/keys/_etcd/registry/test"

	start := func(m *member, extra ...string) {
		held.release(m.clientURL, m.peerURL)
		m.p = startProc(t, dir, nil, bin.etcd, m.discoveryArgs(durl, extra...)...)
	}

	// Four of the five, one after the other: each registers and waits for
	// the last one, and none of them serves or creates its data directory
	// meanwhile.
	for i, m := range ms[:4] {
		start(m)
		waitLog(t, m.p, fmt.Sprintf("discovery: found %d peer(s), waiting for %d more", i+1, 4-i))
	}
	for _, m := range ms[:4] {
		waitLog(t, m.p, "discovery: found 4 peer(s), waiting for 1 more")
	}
	impatient := &http.Client{Timeout: 300 * time.Millisecond}
	for _, m := range ms[:4] {
		if _, err := os.Stat(filepath.Join(m.dataDir, "member")); err == nil {
			t.Errorf("%s created its member directory before the cluster was complete", m.name)
		}
		if resp, err := impatient.Get(m.clientURL + "/v2/keys/"); err == nil {
			resp.Body.Close()
			t.Errorf("%s served a client before the cluster was complete", m.name)
		}
	}

	start(ms[4])
	for _, m := range ms[:5] {
		waitReady(t, m)
	}
	logOrder(t, ms[0].p.out.String(),
		"N | discovery: found self ", "N | discovery: found 1 peer(s), waiting for 4 more",
		"N | discovery: found peer ", "N | discovery: found 5 needed peer(s)",
		"I | etcdserver: discovery URL= "+durl,
		"I | etcdserver: initial cluster = test1=http://localhost:12380,test2=http://localhost:22380,test3=http://localhost:32380,test4=http://localhost:42380,test5=http://localhost:52380")

	// The registry holds the five registrations: key = member ID, value =
	// name=peerURL.
	nodes := registryNodes(t, durl)
	if len(nodes) != 5 {
		t.Fatalf("registry: %+v", nodes)
	}
	for i, n := range nodes {
		if want := ms[i].name + "=" + ms[i].peerURL; n.Value != want {
			t.Errorf("registration %d: %q, want %q", i, n.Value, want)
		}
	}

	// etcdctl --endpoint http://localhost:12379 member list
	names := memberList(t, nil, 5, "--endpoint", "http://localhost:12379")
	for _, m := range ms[:5] {
		if names[m.peerURL] != m.name {
			t.Errorf("member list: %v lacks %s=%s", names, m.name, m.peerURL)
		}
	}
	for _, n := range nodes {
		if !strings.Contains(n.Key, "/_etcd/registry/test/") {
			t.Errorf("registration key %q", n.Key)
		}
	}
	put(t, ms[0], "hello", "world")
	if code, n := quorumGet(t, ms[4], "hello"); code != 200 || n.Value != "world" {
		t.Errorf("read on test5: %d %+v", code, n)
	}

	// The sixth member finds the cluster full and becomes a proxy for it.
	start(ms[5])
	waitLog(t, ms[5].p, "etcdmain: proxy: listening for client requests on http://localhost:62379")
	logOrder(t, ms[5].p.out.String(),
		"I | etcdmain: stopping listening for client requests on http://localhost:62379",
		"I | etcdmain: stopping listening for peers on http://localhost:62380",
		"N | etcdmain: discovery cluster full, falling back to proxy",
		"I | etcdmain: proxy: using peer urls [http://localhost:12380 http://localhost:22380 http://localhost:32380 http://localhost:42380 http://localhost:52380]")
	if body := waitGet(t, "http://localhost:62379/v2/keys/hello"); !strings.Contains(body, `"value":"world"`) {
		t.Errorf("read through the proxy: %s", body)
	}
	code, _, body = httpDo(t, "PUT", "http://localhost:62379/v2/keys/viaproxy", "value=1")
	if code != 201 || !strings.Contains(body, `"action":"set","node":{"key":"/viaproxy","value":"1"`) {
		t.Errorf("write through the proxy: %d %s", code, body)
	}
	if code, n := quorumGet(t, ms[1], "viaproxy"); code != 200 || n.Value != "1" {
		t.Errorf("the write through the proxy, read on test2: %d %+v", code, n)
	}
	names = memberList(t, nil, 5, "--endpoint", "http://localhost:62379", "--no-sync")
	if len(names) != 5 {
		t.Errorf("member list through the proxy: %v", names)
	}
	if _, err := os.Stat(filepath.Join(ms[5].dataDir, "proxy", "cluster")); err != nil {
		t.Errorf("the proxy's cluster file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ms[5].dataDir, "member")); err == nil {
		t.Error("the proxy has a member directory")
	}
	if n := len(registryNodes(t, durl)); n != 5 {
		t.Errorf("the registry holds %d registrations after the proxy started; want 5", n)
	}
}

// startRegistry starts a one-member cluster to serve as discovery registry
// and returns it.
func startRegistry(t *testing.T) *member {
	t.Helper()
	reg := newMember(t, "registry")
	reg.startAlone(t)
	return reg
}

// discoveryArgs are the flags that start m bootstrapping through durl.
func (m *member) discoveryArgs(durl string, extra ...string) []string {
	return m.flags(append([]string{"--discovery", durl}, extra...)...)
}

// TestDiscoveryErrors runs each way discovery can fail and checks etcd's
// report and the exit status.
func TestDiscoveryErrors(t *testing.T) {
	reg := startRegistry(t)
	token := func(name, size string) string {
		t.Helper()
		if size != "" {
			code, _, body := httpDo(t, "PUT", reg.clientURL+"/v2/keys/_etcd/registry/"+name+"/_config/size", "value="+size)
			if code != 201 {
				t.Fatalf("size: %d %s", code, body)
			}
		}
		return reg.clientURL + "/v2/keys/_etcd/registry/" + name
	}
	// fails starts m with args, waits for it to exit 1 and checks that its
	// output holds want, in order.
	fails := func(m *member, args []string, want ...string) {
		t.Helper()
		p := startProc(t, t.TempDir(), nil, bin.etcd, args...)
		if code := p.waitExit(30 * time.Second); code != 1 {
			t.Errorf("%s: exit %d, want 1:\n%s", m.name, code, p.out.String())
		}
		logOrder(t, p.out.String(), want...)
		if _, err := os.Stat(filepath.Join(m.dataDir, "member")); err == nil {
			t.Errorf("%s: a member directory was left behind", m.name)
		}
	}
	advice := func(durl string) []string {
		return []string{
			"I | etcdmain: discovery token " + durl + " was used, but failed to bootstrap the cluster.",
			"I | etcdmain: please generate a new discovery token and try to bootstrap again.",
		}
	}

	t.Run("size not found", func(t *testing.T) {
		m := newMember(t, "m1")
		durl := token("nosize", "")
		fails(m, m.discoveryArgs(durl), append([]string{"E | etcdmain: failed to join discovery cluster (discovery: size key not found)"}, advice(durl)...)...)
	})
	t.Run("size is bad", func(t *testing.T) {
		m := newMember(t, "m1")
		durl := token("badsize", "three")
		fails(m, m.discoveryArgs(durl), append([]string{"E | etcdmain: failed to join discovery cluster (discovery: size key is bad)"}, advice(durl)...)...)
	})
	t.Run("not a registry", func(t *testing.T) {
		m := newMember(t, "m1")
		durl := reg.peerURL + "/members/x"
		fails(m, m.discoveryArgs(durl), append([]string{"E | etcdmain: failed to join discovery cluster (discovery: bad discovery endpoint)"}, advice(durl)...)...)
	})
	t.Run("full, --discovery-fallback exit", func(t *testing.T) {
		durl := token("full", "1")
		first := newMember(t, "m1")
		first.p = startProc(t, t.TempDir(), nil, bin.etcd, first.discoveryArgs(durl)...)
		waitReady(t, first)
		m := newMember(t, "m2")
		fails(m, m.discoveryArgs(durl, "--discovery-fallback", "exit"),
			append([]string{
				"I | etcdmain: stopping listening for client requests on " + m.clientURL,
				"I | etcdmain: stopping listening for peers on " + m.peerURL,
				"E | etcdmain: failed to join discovery cluster (discovery: cluster is full)",
			}, advice(durl)...)...)

		// The member that bootstrapped restarts from its data directory;
		// the token is not used again.
		first.p.Stop()
		first.p = startProc(t, t.TempDir(), nil, bin.etcd, first.discoveryArgs(durl)...)
		waitReady(t, first)
		waitLog(t, first.p, `W | etcdmain: discovery token ignored since a cluster has already been initialized. Valid log found at "`+filepath.Join(first.dataDir, "member", "wal")+`"`)
		if n := len(registryNodes(t, durl)); n != 1 {
			t.Errorf("%d registrations after the restart, want 1", n)
		}
	})
	t.Run("duplicate ID", func(t *testing.T) {
		durl := token("dupid", "2")
		m := newMember(t, "m1")
		p := startProc(t, t.TempDir(), nil, bin.etcd, m.discoveryArgs(durl)...)
		waitLog(t, p, "found 1 peer(s), waiting for 1 more")
		p.Kill()
		// The same member again, with its (still empty) data directory.
		fails(m, m.discoveryArgs(durl),
			`E | etcdmain: member "m1" has previously registered with discovery service token (`+durl+`).`,
			`E | etcdmain: But etcd could not find valid cluster configuration in the given data dir (`+m.dataDir+`).`,
			"I | etcdmain: Please check the given data dir path if the previous bootstrap succeeded",
			"I | etcdmain: or use a new discovery token if the previous bootstrap failed.")
	})
	t.Run("duplicate name", func(t *testing.T) {
		durl := token("dupname", "2")
		if code, _, body := httpDo(t, "PUT", durl+"/1234?prevExist=false", "value=m1=http://127.0.0.1:1"); code != 201 {
			t.Fatalf("registration: %d %s", code, body)
		}
		m := newMember(t, "m1")
		fails(m, m.discoveryArgs(durl),
			"E | etcdmain: member with duplicated name has registered with discovery service token("+durl+").",
			"E | etcdmain: please check (cURL) the discovery token for more information.",
			"E | etcdmain: please do not reuse the discovery token and generate a new one to bootstrap the cluster.")
	})
	t.Run("registry unreachable", func(t *testing.T) {
		dead := "http://127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
		m := newMember(t, "m1")
		p := startProc(t, t.TempDir(), nil, bin.etcd, m.discoveryArgs(dead+"/v2/keys/_etcd/registry/x")...)
		waitLog(t, p, "E | discovery: error #0: dial tcp ")
		waitLog(t, p, "I | discovery: cluster status check: error connecting to "+dead+", retrying in 2s")
		// A signal ends the wait at once.
		p.Stop()
		if code := p.waitExit(time.Second); code != 0 {
			t.Errorf("exit %d after SIGTERM", code)
		}
	})
	t.Run("member and proxy data", func(t *testing.T) {
		m := newMember(t, "m1")
		for _, d := range []string{"member", "proxy"} {
			if err := os.MkdirAll(filepath.Join(m.dataDir, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		p := startProc(t, t.TempDir(), nil, bin.etcd, m.args(m.name+"="+m.peerURL)...)
		if code := p.waitExit(30 * time.Second); code != 1 || !strings.Contains(p.out.String(), "C | etcdmain: invalid datadir. Both member and proxy directories exist.") {
			t.Errorf("exit %d:\n%s", code, p.out.String())
		}
	})
}

// srvCluster is three members whose DNS SRV records a test DNS server
// serves: _etcd-server._tcp.srv.test points at their peer ports on
// localhost, _etcd-client._tcp.srv.test at their client ports under names
// of their own (c1.srv.test ...) that only the test DNS server knows.
func newSRVCluster(t *testing.T) ([]*member, *dnstest.Server) {
	t.Helper()
	ports := freePorts(t, 6)
	var ms []*member
	records := dnstest.Records{SRV: map[string][]net.SRV{}, A: map[string][]net.IP{}}
	for i := range 3 {
		m := &member{
			name:      fmt.Sprintf("infra%d", i+1),
			dataDir:   filepath.Join(t.TempDir(), fmt.Sprintf("infra%d.etcd", i+1)),
			clientURL: fmt.Sprintf("http://localhost:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://localhost:%d", ports[2*i+1]),
		}
		ms = append(ms, m)
		records.SRV["_etcd-server._tcp.srv.test"] = append(records.SRV["_etcd-server._tcp.srv.test"],
			net.SRV{Target: "localhost.", Port: uint16(ports[2*i+1]), Priority: uint16(i)})
		host := fmt.Sprintf("c%d.srv.test", i+1)
		records.SRV["_etcd-client._tcp.srv.test"] = append(records.SRV["_etcd-client._tcp.srv.test"],
			net.SRV{Target: host + ".", Port: uint16(ports[2*i]), Priority: uint16(i)})
		records.A[host] = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	dns, err := dnstest.NewServer(records)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	return ms, dns
}

// srvArgs are the flags that start m bootstrapping from the SRV records
// of srv.test.
func (m *member) srvArgs(extra ...string) []string {
	return m.flags(append([]string{"--discovery-srv", "srv.test", "--initial-cluster-token", "srv-e2e"}, extra...)...)
}

// TestDiscoverySRV bootstraps a 3-member cluster from DNS SRV records,
// lists it with etcdctl --discovery-srv, and puts a proxy found through
// SRV in front of it.
func TestDiscoverySRV(t *testing.T) {
	ms, dns := newSRVCluster(t)
	env := []string{"V2ETCD_DNS_SERVER=" + dns.Addr()}
	for _, m := range ms {
		m.p = startProc(t, t.TempDir(), env, bin.etcd, m.srvArgs()...)
	}
	for _, m := range ms {
		waitReady(t, m)
	}
	for _, m := range ms {
		logOrder(t, m.p.out.String(),
			"N | discovery: got bootstrap from DNS for etcd-server at "+ms[0].peerURL,
			"N | discovery: got bootstrap from DNS for etcd-server at "+ms[2].peerURL,
			"I | etcdserver: initial cluster = ")
		if !strings.Contains(m.p.out.String(), m.name+"="+m.peerURL) {
			t.Errorf("%s does not find itself in the records:\n%s", m.name, m.p.out.String())
		}
	}

	// etcdctl finds the members through _etcd-client._tcp.srv.test.
	names := memberList(t, env, 3, "--discovery-srv", "srv.test")
	for _, m := range ms {
		if names[m.peerURL] != m.name {
			t.Errorf("member list %v lacks %s", names, m.name)
		}
	}
	stdout, stderr, code := etcdctl(t, env, "-D", "srv.test", "--debug", "set", "/srv", "found")
	// The SRV targets (shuffled) are where the sync starts; it then
	// uses the members' own client URLs.
	if code != 0 || stdout != "found\n" || !strings.Contains(stderr, "start to sync cluster using endpoints(http://c") ||
		!strings.Contains(stderr, "http://c1.srv.test.:") || !strings.Contains(stderr, "Cluster-Endpoints: http://localhost:") {
		t.Errorf("etcdctl -D set: exit %d\n%s%s", code, stdout, stderr)
	}

	// A proxy from the same records.
	pport := freePorts(t, 1)[0]
	purl := "http://127.0.0.1:" + strconv.Itoa(pport)
	p := startProc(t, t.TempDir(), env, bin.etcd, "--proxy", "on", "--data-dir", filepath.Join(t.TempDir(), "proxy.etcd"),
		"--listen-client-urls", purl, "--discovery-srv", "srv.test")
	waitLog(t, p, "I | etcdmain: proxy: using peer urls [")
	if body := waitGet(t, purl+"/v2/keys/srv"); !strings.Contains(body, `"value":"found"`) {
		t.Errorf("read through the proxy: %s", body)
	}

	// The errors: a member the records do not list, a domain without records.
	extra := newMember(t, "infra4")
	extra.clientURL, extra.peerURL = strings.Replace(extra.clientURL, "127.0.0.1", "localhost", 1), strings.Replace(extra.peerURL, "127.0.0.1", "localhost", 1)
	bad := startProc(t, t.TempDir(), env, bin.etcd, extra.srvArgs()...)
	if code := bad.waitExit(30 * time.Second); code != 1 ||
		!strings.Contains(bad.out.String(), `C | etcdmain: error setting up initial cluster: cannot find local etcd member "infra4" in SRV records`) {
		t.Errorf("not in the records: exit %d\n%s", code, bad.out.String())
	}
	bad = startProc(t, t.TempDir(), env, bin.etcd, append(extra.srvArgs(), "--discovery-srv", "nothing.test")...)
	if code := bad.waitExit(30 * time.Second); code != 1 {
		t.Errorf("no records: exit %d", code)
	}
	logOrder(t, bad.out.String(),
		"W | discovery: error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.nothing.test",
		"W | discovery: error querying DNS SRV records for _etcd-server lookup _etcd-server._tcp.nothing.test",
		"E | discovery: SRV discovery failed: too many errors querying DNS SRV records",
		"C | etcdmain: error setting up initial cluster: lookup _etcd-server._tcp.nothing.test")
	_, stderr, code = etcdctl(t, env, "-D", "nothing.test", "ls")
	if code != 1 || !strings.HasPrefix(stderr, "dns lookup errors: lookup _etcd-client-ssl._tcp.nothing.test") {
		t.Errorf("etcdctl -D without records: exit %d, %q", code, stderr)
	}
}
