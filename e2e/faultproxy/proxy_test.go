package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// backend is a stand-in for a member's peer port: a stream endpoint that
// writes the lines it is given, and an echo for POSTs.
type backend struct {
	addr  string
	lines chan string
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{addr: l.Addr().String(), lines: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /raft/stream/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
		w.(http.Flusher).Flush()
		for {
			select {
			case line := <-b.lines:
				fmt.Fprintln(w, line)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("POST /raft", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s close=%v", body, r.Close)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b
}

// setup makes a network with two members: 0 in front of a backend, and 1
// (whose proxy URL identifies the sender of the test's requests).
func setup(t *testing.T) (*Network, *backend, *Proxy, *Proxy) {
	t.Helper()
	n := New()
	t.Cleanup(func() { n.Close() })
	b := newBackend(t)
	p0, err := n.Listen(0, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := n.Listen(1, newBackend(t).addr)
	if err != nil {
		t.Fatal(err)
	}
	return n, b, p0, p1
}

// client sends requests as member from (whose X-PeerURLs is its proxy URL).
type client struct {
	hc   *http.Client
	from *Proxy
}

func newClient(from *Proxy, timeout time.Duration) *client {
	return &client{hc: &http.Client{Timeout: timeout, Transport: &http.Transport{}}, from: from}
}

func (c *client) do(method, url, body string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.from != nil {
		req.Header.Set("X-PeerURLs", c.from.URL())
	}
	return c.hc.Do(req)
}

func (c *client) post(to *Proxy, body string) (string, error) {
	resp, err := c.do("POST", to.URL()+"/raft", body)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// stream opens a stream on to and returns a reader of its lines.
func (c *client) stream(t *testing.T, to *Proxy) (*bufio.Reader, io.Closer) {
	t.Helper()
	resp, err := c.do("GET", to.URL()+"/raft/stream/message/1", "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %s", resp.Status)
	}
	return bufio.NewReader(resp.Body), resp.Body
}

// readLine reads a line, or gives up after wait (the line may then come
// later: the reader is spent).
func readLine(r *bufio.Reader, wait time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := r.ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case res := <-ch:
		return res.line, res.err
	case <-time.After(wait):
		return "", errTimeout
	}
}

var errTimeout = fmt.Errorf("no line")

func TestPassIdentifiesSender(t *testing.T) {
	n, _, p0, p1 := setup(t)
	c := newClient(p1, 5*time.Second)
	for i := 0; i < 2; i++ {
		got, err := c.post(p0, "abc")
		if err != nil || got != "got abc close=true" {
			t.Fatalf("POST %d through the proxy: %q %v", i, got, err)
		}
	}
	anon := newClient(nil, 5*time.Second)
	if got, err := anon.post(p0, "x"); err != nil || got != "got x close=true" {
		t.Fatalf("anonymous POST: %q %v", got, err)
	}
	st := n.Stats()
	// Connection: close makes each request a connection of its own.
	if st.Accepted != 3 || st.Anonymous != 1 || st.Refused != 0 || st.Bytes == 0 {
		t.Errorf("stats: %+v", st)
	}
	if got := n.Members(); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("members: %v", got)
	}
}

func TestDropRefusesAndCuts(t *testing.T) {
	n, b, p0, p1 := setup(t)
	c := newClient(p1, 5*time.Second)
	r, body := c.stream(t, p0)
	defer body.Close()
	if line, err := readLine(r, 5*time.Second); line != "hello" {
		t.Fatalf("stream: %q %v", line, err)
	}
	// The stream carries 0's messages to 1: dropping 1->0 leaves it alone,
	// but refuses 1's POSTs.
	n.Set(Link{1, 0}, State{Kind: Drop})
	b.lines <- "still"
	if line, err := readLine(r, 5*time.Second); line != "still" {
		t.Fatalf("stream after dropping the other direction: %q %v", line, err)
	}
	if got, err := c.post(p0, "x"); err == nil {
		t.Fatalf("POST over a dropped link: %q", got)
	}
	// Dropping 0->1 cuts the stream.
	n.Set(Link{0, 1}, State{Kind: Drop})
	if line, err := readLine(r, 5*time.Second); err == nil || err == errTimeout {
		t.Fatalf("stream over a dropped link: %q %v", line, err)
	}
	resp, err := c.do("GET", p0.URL()+"/raft/stream/message/1", "")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("new stream over a dropped link: %s", resp.Status)
	}
	st := n.Stats()
	if st.Cut != 1 || st.Refused != 2 {
		t.Errorf("stats: %+v", st)
	}
	n.Heal()
	if got, err := c.post(p0, "y"); err != nil || got != "got y close=true" {
		t.Fatalf("POST after healing: %q %v", got, err)
	}
	if len(n.Links()) != 0 {
		t.Errorf("links after Heal: %v", n.Links())
	}
}

func TestDelayHoldsBytes(t *testing.T) {
	n, _, p0, p1 := setup(t)
	c := newClient(p1, 5*time.Second)
	const d = 100 * time.Millisecond
	n.Set(Link{1, 0}, State{Kind: Delay, Delay: d})
	if got := n.State(Link{1, 0}); got.String() != "delay 100ms" {
		t.Errorf("state: %v", got)
	}
	start := time.Now()
	got, err := c.post(p0, "slow")
	if err != nil || got != "got slow close=true" {
		t.Fatalf("POST: %q %v", got, err)
	}
	// The request and the answer are each held d: the round trip cannot
	// be shorter than 2d.
	if el := time.Since(start); el < 2*d {
		t.Errorf("a delayed round trip took %v, less than %v", el, 2*d)
	}
}

func TestBlackholeStallsThenResumes(t *testing.T) {
	n, b, p0, p1 := setup(t)
	c := newClient(p1, 0)
	r, body := c.stream(t, p0)
	defer body.Close()
	if line, err := readLine(r, 5*time.Second); line != "hello" {
		t.Fatalf("stream: %q %v", line, err)
	}
	n.Isolate(0, State{Kind: Blackhole})
	b.lines <- "held"
	done := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		done <- strings.TrimSpace(line)
	}()
	select {
	case line := <-done:
		t.Fatalf("read %q through a blackhole", line)
	case <-time.After(300 * time.Millisecond):
	}
	// A new request is accepted but not answered.
	short := newClient(p1, 300*time.Millisecond)
	if got, err := short.post(p0, "x"); err == nil {
		t.Fatalf("POST through a blackhole: %q", got)
	}
	n.Heal()
	select {
	case line := <-done:
		if line != "held" {
			t.Fatalf("after healing, the stream read %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not resume after healing")
	}
	if got, err := c.post(p0, "z"); err != nil || got != "got z close=true" {
		t.Fatalf("POST after healing: %q %v", got, err)
	}
	if st := n.Stats(); st.Cut != 0 {
		t.Errorf("a blackhole closed connections: %+v", st)
	}
}

func TestPartitionAndIsolate(t *testing.T) {
	n := New()
	defer n.Close()
	for m := 0; m < 5; m++ {
		if _, err := n.Listen(m, "127.0.0.1:1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Listen(2, "127.0.0.1:1"); err == nil {
		t.Error("a second proxy for member 2 was accepted")
	}
	if _, err := n.Listen(-1, "127.0.0.1:1"); err == nil {
		t.Error("member -1 was accepted")
	}
	drop := State{Kind: Drop}
	n.Partition(drop, []int{0, 1}, []int{2, 3, 4})
	links := n.Links()
	if len(links) != 12 { // 2*3 pairs, both directions
		t.Fatalf("partition 2|3: %d links cut: %v", len(links), links)
	}
	for l := range links {
		if (l.From < 2) == (l.To < 2) {
			t.Errorf("link %v within a group is cut", l)
		}
	}
	// A bridge: 2 hears both halves.
	n.Set(Link{0, 2}, State{})
	n.Set(Link{2, 0}, State{})
	if n.State(Link{0, 2}).Kind != Pass || n.State(Link{0, 3}).Kind != Drop {
		t.Errorf("bridge: %v", n.Links())
	}
	n.Heal()
	n.Isolate(4, State{Kind: Blackhole})
	if links := n.Links(); len(links) != 8 {
		t.Errorf("isolate: %v", links)
	}
	n.Close()
	if _, err := n.Listen(7, "127.0.0.1:1"); err == nil {
		t.Error("Listen after Close succeeded")
	}
}

func TestStateStrings(t *testing.T) {
	for _, tc := range []struct {
		s    State
		want string
	}{
		{State{}, "pass"},
		{State{Kind: Drop}, "drop"},
		{State{Kind: Delay, Delay: 20 * time.Millisecond}, "delay 20ms"},
		{State{Kind: Blackhole}, "blackhole"},
		{State{Kind: 9}, "State(9)"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.s, got, tc.want)
		}
	}
}
