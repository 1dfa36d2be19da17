package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const getFooAnswer = `{"action":"get","node":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}`

// newTestClient returns a client over the given endpoints, in that order.
func newTestClient(t *testing.T, eps ...string) *clusterClient {
	t.Helper()
	c := &clusterClient{transport: &http.Transport{}, headerTimeout: time.Second, shuffle: func([]url.URL) {}}
	if err := c.setEndpoints(eps); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFailoverToNextEndpoint(t *testing.T) {
	dead := closedURL(t)
	s := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	c := newTestClient(t, dead, s.URL)
	var debug bytes.Buffer
	c.debug = &debug
	for i := 0; i < 2; i++ {
		r, err := keysCall(context.Background(), c, getRequest("foo", false, false, false))
		if err != nil || r.Node.Value != "bar" {
			t.Fatalf("call %d: %v, %v", i, r, err)
		}
	}
	// The first call tried the dead endpoint, then pinned the live one;
	// the second went straight to it.
	want := fmt.Sprintf("cURL Command: curl -X GET %[1]s/v2/keys/foo?quorum=false&recursive=false&sorted=false\n"+
		"cURL Command: curl -X GET %[2]s/v2/keys/foo?quorum=false&recursive=false&sorted=false\n"+
		"cURL Command: curl -X GET %[2]s/v2/keys/foo?quorum=false&recursive=false&sorted=false\n", dead, s.URL)
	if debug.String() != want {
		t.Errorf("requests:\n%s\nwant:\n%s", debug.String(), want)
	}
}

func TestClusterErrorListsEveryEndpoint(t *testing.T) {
	dead := closedURL(t)
	noLeader := newStub(t).on("GET /v2/keys/foo", answer{status: 503, body: "x"})
	internal := newStub(t).on("GET /v2/keys/foo", keys(500, 0, `{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}`))
	gateway := newStub(t).on("GET /v2/keys/foo", answer{status: 504, body: "x"})
	got := run(runOpts{}, ep(strings.Join([]string{dead, noLeader.URL, internal.URL, gateway.URL}, ","), "--no-sync", "get", "foo")...)
	want := "Error:  client: etcd cluster is unavailable or misconfigured\n" +
		"error #0: dial tcp " + hostPort(dead) + ": connect: connection refused\n" +
		"error #1: client: etcd member " + noLeader.URL + " has no leader\n" +
		"error #2: client: etcd member " + internal.URL + " has no leader\n" +
		"error #3: client: etcd member " + gateway.URL + " returns server error [Gateway Timeout]\n\n"
	check(t, got, "", want, exitServerError)
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	// A 4xx answer is an answer: the next endpoint is not asked.
	first := newStub(t).on("GET /v2/keys/foo", keys(404, 7, `{"errorCode":100,"message":"Key not found","cause":"/foo","index":7}`))
	second := newStub(t)
	got := run(runOpts{}, ep(first.URL+","+second.URL, "--no-sync", "get", "foo")...)
	check(t, got, "", "Error:  100: Key not found (/foo) [7]\n", exitServerError)
	if n := len(second.got()); n != 0 {
		t.Errorf("second endpoint got %d requests", n)
	}
}

func TestShuffledEndpoints(t *testing.T) {
	a := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	b := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	// The test's shuffle reverses the list: b is tried first.
	got := run(runOpts{reverse: true}, ep(a.URL+","+b.URL, "--no-sync", "get", "foo")...)
	check(t, got, "bar\n", "", 0)
	if len(a.got()) != 0 || len(b.got()) != 1 {
		t.Errorf("requests: a %q, b %q", a.got(), b.got())
	}
}

func TestHeaderTimeout(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/foo", hang())
	got := run(runOpts{}, ep(s.URL, "--no-sync", "--timeout", "10ms", "get", "foo")...)
	want := "Error:  client: etcd cluster is unavailable or misconfigured\n" +
		"error #0: client: endpoint " + s.URL + " exceeded header timeout\n\n"
	check(t, got, "", want, exitServerError)
}

func TestTotalTimeout(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/foo", hang())
	got := run(runOpts{}, ep(s.URL, "--no-sync", "--timeout", "0", "--total-timeout", "10ms", "get", "foo")...)
	check(t, got, "", "Error:  context deadline exceeded\n", exitServerError)
}

// blockingTransport holds every request until it is released or the
// request's context ends, and then answers 200 with body.
type blockingTransport struct {
	release chan struct{}
	body    string
	ctxErr  chan error
}

func (b *blockingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case <-b.release:
		b.ctxErr <- req.Context().Err()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(b.body))}, nil
	case <-req.Context().Done():
		b.ctxErr <- req.Context().Err()
		return nil, req.Context().Err()
	}
}

// TestWatchHasNoHeaderTimeout uses a fake clock: a watch may wait far
// longer than --timeout for its answer, a plain request may not.
func TestWatchHasNoHeaderTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &blockingTransport{release: make(chan struct{}), body: getFooAnswer, ctxErr: make(chan error, 1)}
		c := &clusterClient{transport: tr, headerTimeout: time.Second, shuffle: func([]url.URL) {}}
		c.setEndpoints([]string{"http://127.0.0.1:2379"})
		done := make(chan error, 1)
		go func() {
			_, err := keysCall(context.Background(), c, watchRequest("foo", 0, false))
			done <- err
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		close(tr.release)
		if err := <-tr.ctxErr; err != nil {
			t.Errorf("the watch was cancelled: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}

		tr = &blockingTransport{release: make(chan struct{}), ctxErr: make(chan error, 1)}
		c.transport = tr
		_, err := keysCall(context.Background(), c, getRequest("foo", false, false, false))
		var ce *clusterError
		if !errors.As(err, &ce) || ce.errs[0].Error() != "client: endpoint http://127.0.0.1:2379 exceeded header timeout" {
			t.Errorf("get: %v", err)
		}
	})
}

func TestRedirects(t *testing.T) {
	s := newStub(t)
	s.on("PUT /v2/keys/a", answer{status: 307, header: map[string]string{"Location": "/v2/keys/b"}})
	s.on("PUT /v2/keys/b", answer{status: 301, header: map[string]string{"Location": s.URL + "/v2/keys/c"}})
	s.on("PUT /v2/keys/c", keys(201, 9, `{"action":"set","node":{"key":"/c","value":"v","modifiedIndex":9,"createdIndex":9}}`))
	got := run(runOpts{}, ep(s.URL, "--no-sync", "set", "a", "v")...)
	check(t, got, "v\n", "", 0)
	want := []string{"PUT /v2/keys/a -d value=v", "PUT /v2/keys/b -d value=v", "PUT /v2/keys/c -d value=v"}
	if !slices.Equal(s.got(), want) {
		t.Errorf("requests %q", s.got())
	}

	loop := newStub(t).on("GET /v2/keys/x", answer{status: 302, header: map[string]string{"Location": "/v2/keys/x"}})
	got = run(runOpts{}, ep(loop.URL, "--no-sync", "get", "x")...)
	check(t, got, "", "Error:  client: etcd cluster is unavailable or misconfigured\nerror #0: too many redirects\n\n", exitServerError)
	if n := len(loop.got()); n != 11 {
		t.Errorf("%d requests, want 11 (10 redirects followed)", n)
	}

	noLoc := newStub(t).on("GET /v2/keys/x", answer{status: 302})
	got = run(runOpts{}, ep(noLoc.URL, "--no-sync", "get", "x")...)
	check(t, got, "", "Error:  client: etcd cluster is unavailable or misconfigured\nerror #0: Location header not set\n\n", exitServerError)
}

func TestBasicAuth(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	got := run(runOpts{}, ep(s.URL, "-u", "root:se:cret", "get", "foo")...)
	check(t, got, "bar\n", "", 0)
	got = run(runOpts{password: "pw"}, ep(s.URL, "--username", "alice", "get", "foo")...)
	// The test's password reader echoes its prompt on stdout.
	check(t, got, "Password: \nbar\n", "", 0)
	want := []string{
		"Basic " + basic("root", "se:cret"), "Basic " + basic("root", "se:cret"), // sync, then get
		"Basic " + basic("alice", "pw"), "Basic " + basic("alice", "pw"),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(s.auth, want) {
		t.Errorf("Authorization headers %q, want %q", s.auth, want)
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestCurlLines(t *testing.T) {
	var b bytes.Buffer
	c := &clusterClient{debug: &b}
	body := `{"peerURLs":["http://a:1"]}`
	c.printCurl("POST", "http://h:1/v2/members", &body)
	c.printCurl("GET", "http://h:1/v2/keys/a?x=1", nil)
	empty := ""
	c.printCurl("PUT", "http://h:1/v2/keys/d?dir=true", &empty)
	want := "cURL Command: curl -X POST http://h:1/v2/members -d \"{\\\"peerURLs\\\":[\\\"http://a:1\\\"]}\"\n" +
		"cURL Command: curl -X GET http://h:1/v2/keys/a?x=1\n" +
		"cURL Command: curl -X PUT http://h:1/v2/keys/d?dir=true -d \"\"\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestMissingNodeDoesNotCrash(t *testing.T) {
	// A server that leaves out "node" (etcd 3.1's noValueOnSuccess) must
	// not make etcdctl fail.
	s := newStub(t).on("GET /v2/keys/foo", keys(200, 4, `{"action":"get"}`)).on("DELETE /v2/keys/foo", keys(200, 5, `{"action":"delete"}`))
	check(t, run(runOpts{}, ep(s.URL, "--no-sync", "-o", "extended", "get", "foo")...), "Key: \nCreated-Index: 0\nModified-Index: 0\nTTL: 0\nIndex: 4\n\n\n", "", 0)
	check(t, run(runOpts{}, ep(s.URL, "--no-sync", "rm", "foo")...), "PrevNode.Value: \n", "", 0)
	check(t, run(runOpts{}, ep(s.URL, "--no-sync", "ls", "foo")...), "\n", "", 0)
}

// TestTinyHeaderTimeout replays what etcdctl 2.3.8 prints with
// --timeout 1ns against a live etcd: the sync times out, the peers API
// fallback finds nothing and leaves one empty endpoint, and the request
// to it times out too.
func TestTinyHeaderTimeout(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/test", keys(200, 4, getFooAnswer))
	got := run(runOpts{}, ep(s.URL, "--timeout", "1ns", "get", "test")...)
	check(t, got, "", "Error:  client: etcd cluster is unavailable or misconfigured\nerror #0: client: endpoint  exceeded header timeout\n\n", exitServerError)
}
