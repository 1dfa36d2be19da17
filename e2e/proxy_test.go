package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A proxy in front of a cluster (spec §7), as real processes.

// startProxy starts a proxy and waits until it listens and has found the
// members' client URLs.
func startProxy(t *testing.T, dataDir string, extra ...string) (*proc, string) {
	t.Helper()
	purl := "http://127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
	p := startProc(t, t.TempDir(), nil, bin.etcd, append([]string{
		"--data-dir", dataDir, "--listen-client-urls", purl,
	}, extra...)...)
	waitLog(t, p, "I | etcdmain: proxy: listening for client requests on "+purl)
	waitLog(t, p, "I | proxy: endpoints found [")
	return p, purl
}

// proxyEndpoints returns what /v2/config/local/proxy lists.
func proxyEndpoints(t *testing.T, purl string) []string {
	t.Helper()
	code, _, body := httpDo(t, "GET", purl+"/v2/config/local/proxy", "")
	var v struct{ Endpoints []string }
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("config: %d %s", code, body)
	}
	return v.Endpoints
}

// TestProxyKeepsServing puts a proxy in front of a 3-member cluster, then
// kills the member the proxy tries first: reads through the proxy go on
// without a single failure, and writes too once the cluster has a leader.
func TestProxyKeepsServing(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	pdir := filepath.Join(t.TempDir(), "proxy.etcd")
	// A failed member stays out of the rotation for the whole test.
	p, purl := startProxy(t, pdir, "--proxy", "on", "--initial-cluster", c.initial, "--proxy-failure-wait", "600000")
	logOrder(t, p.out.String(), "I | etcdmain: proxy: using peer urls [", "I | proxy: endpoints found [",
		"I | etcdmain: proxy: listening for client requests on "+purl)

	eps := proxyEndpoints(t, purl)
	if len(eps) != 3 {
		t.Fatalf("endpoints %q", eps)
	}
	code, _, body := httpDo(t, "PUT", purl+"/v2/keys/k", "value=before")
	if code != 201 {
		t.Fatalf("write through the proxy: %d %s", code, body)
	}

	// A watch through the proxy sees the next write as it happens.
	resp, err := http.Get(purl + "/v2/keys/w?wait=true&stream=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	put(t, c.members[0], "w", "1")
	line, err := events.ReadString('\n')
	if err != nil || !strings.Contains(line, `"action":"set","node":{"key":"/w","value":"1"`) {
		t.Fatalf("watch through the proxy: %q, %v", line, err)
	}

	// Kill the member the proxy tries first.
	var first *member
	for _, m := range c.members {
		if m.clientURL == eps[0] {
			first = m
		}
	}
	if first == nil {
		t.Fatalf("%s is no member's client URL", eps[0])
	}
	first.p.Kill()
	for i := range 20 {
		code, _, body := httpDo(t, "GET", purl+"/v2/keys/k", "")
		if code != 200 || !strings.Contains(body, `"value":"before"`) {
			t.Fatalf("read %d through the proxy after %s died: %d %s", i, first.name, code, body)
		}
	}
	if !strings.Contains(p.out.String(), "I | proxy: marked endpoint "+first.clientURL+" unavailable") {
		t.Errorf("the proxy did not mark %s:\n%s", first.clientURL, p.out.String())
	}
	for _, ep := range proxyEndpoints(t, purl) {
		if ep == first.clientURL {
			t.Errorf("the dead member is still listed as available")
		}
	}
	// Writes: the killed member may have been the leader; once the others
	// have elected one, every write through the proxy succeeds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, _ := httpDo(t, "PUT", purl+"/v2/keys/k", "value=after")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write through the proxy succeeded within 30 s: %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 20 {
		code, _, body := httpDo(t, "PUT", purl+"/v2/keys/n"+strconv.Itoa(i), "value=x")
		if code != 201 {
			t.Fatalf("write %d through the proxy: %d %s", i, code, body)
		}
	}

	// /metrics is the proxy's own.
	code, _, body = httpDo(t, "GET", purl+"/metrics", "")
	if code != 200 || !strings.Contains(body, `etcd_proxy_handled_total{code="201",method="PUT"}`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}

	// The proxy keeps what it learnt in its data directory, and a restart
	// uses that, whatever --initial-cluster says now.
	b, err := os.ReadFile(filepath.Join(pdir, "proxy", "cluster"))
	if err != nil || !strings.Contains(string(b), `"PeerURLs":[`) || !strings.Contains(string(b), c.members[1].peerURL) {
		t.Errorf("cluster file %q, %v", b, err)
	}
	p.Stop()
	p2, purl2 := startProxy(t, pdir, "--proxy", "on", "--initial-cluster", "nobody=http://127.0.0.1:1")
	logOrder(t, p2.out.String(),
		"N | etcdmain: the server is already initialized as proxy before, starting as etcd proxy...",
		`I | etcdmain: proxy: using peer urls [`, `] from cluster file "`+filepath.Join(pdir, "proxy", "cluster")+`"`)
	if body := waitGet(t, purl2+"/v2/keys/n19"); !strings.Contains(body, `"value":"x"`) {
		t.Errorf("read through the restarted proxy: %s", body)
	}
}

// TestProxyReadonlyAndErrors: a readonly proxy refuses writes with 501;
// a proxy whose cluster is gone answers 502, then 503.
func TestProxyReadonlyAndErrors(t *testing.T) {
	m := newMember(t, "solo")
	m.startAlone(t)
	put(t, m, "k", "v")
	_, purl := startProxy(t, filepath.Join(t.TempDir(), "ro.etcd"), "--proxy", "readonly",
		"--initial-cluster", "solo="+m.peerURL, "--proxy-failure-wait", "600000")
	for _, method := range []string{"PUT", "POST", "DELETE"} {
		code, _, body := httpDo(t, method, purl+"/v2/keys/k", "value=w")
		if code != 501 || body != "" {
			t.Errorf("%s through a readonly proxy: %d %q", method, code, body)
		}
	}
	if body := waitGet(t, purl+"/v2/keys/k"); !strings.Contains(body, `"value":"v"`) {
		t.Errorf("GET through a readonly proxy: %s", body)
	}

	m.p.Kill()
	code, _, body := httpDo(t, "GET", purl+"/v2/keys/k", "")
	if code != 502 || body != `{"message":"proxy: unable to get response from 1 endpoint(s)"}` {
		t.Errorf("member gone: %d %q", code, body)
	}
	code, _, body = httpDo(t, "GET", purl+"/v2/keys/k", "")
	if code != 503 || body != `{"message":"proxy: zero endpoints currently available"}` {
		t.Errorf("member marked failed: %d %q", code, body)
	}
}
