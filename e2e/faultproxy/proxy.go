package faultproxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is what a link does to its traffic.
type Kind uint8

// The link kinds; see the package documentation.
const (
	Pass      Kind = iota // bytes flow
	Drop                  // connections are closed, new ones too
	Delay                 // bytes are held for State.Delay
	Blackhole             // nothing moves, nothing is closed
)

// State is the state of one link.
type State struct {
	Kind  Kind
	Delay time.Duration // for Delay
}

// String renders the state as "pass", "drop", "delay 20ms" or "blackhole".
func (s State) String() string {
	switch s.Kind {
	case Pass:
		return "pass"
	case Drop:
		return "drop"
	case Delay:
		return "delay " + s.Delay.String()
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("State(%d)", s.Kind)
}

// Link is one direction between two members: what From sends to To.
// Members are the numbers given to Network.Listen.
type Link struct{ From, To int }

// Stats counts what the network did.
type Stats struct {
	Accepted  int64 // connections accepted by the proxies
	Anonymous int64 // connections without a known sender, passed untouched
	Refused   int64 // connections closed at once because their link was dropped
	Cut       int64 // open connections closed because their link was dropped
	Bytes     int64 // bytes forwarded, both directions
}

// headTimeout bounds the wait for the head of a connection's first request.
const headTimeout = 10 * time.Second

// maxHead is the largest request head the proxy reads.
const maxHead = 64 << 10

// Network is the set of proxies of one cluster and the state of every
// link between its members. Its methods are safe for concurrent use.
type Network struct {
	mu      sync.Mutex
	links   map[Link]State
	changed chan struct{} // closed and replaced whenever a link changes
	proxies map[int]*Proxy
	conns   map[*conn]struct{}
	closed  bool
	stats   Stats
	wg      sync.WaitGroup // accept loops and connections
}

// New returns a network with no proxies, every link passing.
func New() *Network {
	return &Network{
		links:   map[Link]State{},
		changed: make(chan struct{}),
		proxies: map[int]*Proxy{},
		conns:   map[*conn]struct{}{},
	}
}

// Proxy is the proxy in front of one member's peer port.
type Proxy struct {
	n      *Network
	member int
	target string
	l      net.Listener
}

// Listen starts the proxy of member on a port of 127.0.0.1 chosen by the
// OS, forwarding to target (host:port, the member's real peer address).
// A member has one proxy; it keeps its address for the network's life, so
// a member restarted or replaced in the same slot is reached the same way.
func (n *Network) Listen(member int, target string) (*Proxy, error) {
	if member < 0 {
		return nil, fmt.Errorf("faultproxy: member %d: members are numbered from 0", member)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{n: n, member: member, target: target, l: l}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		l.Close()
		return nil, errors.New("faultproxy: the network is closed")
	case n.proxies[member] != nil:
		l.Close()
		return nil, fmt.Errorf("faultproxy: member %d already has a proxy", member)
	}
	n.proxies[member] = p
	n.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// URL returns the URL the member advertises: http://<Addr>.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Set puts link l in state s. A Drop closes the link's open connections.
func (n *Network) Set(l Link, s State) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setLocked(l, s)
	n.notifyLocked()
}

func (n *Network) setLocked(l Link, s State) {
	if s.Kind == Pass {
		delete(n.links, l)
	} else {
		n.links[l] = s
	}
	if s.Kind != Drop {
		return
	}
	for c := range n.conns {
		if c.known && c.link == l {
			n.stats.Cut++
			c.closeLocked()
		}
	}
}

// notifyLocked wakes every connection waiting for a change.
func (n *Network) notifyLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// State returns the state of link l.
func (n *Network) State(l Link) State {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.links[l]
}

// Links returns every link that does not pass, with its state.
func (n *Network) Links() map[Link]State {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[Link]State, len(n.links))
	for l, s := range n.links {
		out[l] = s
	}
	return out
}

// Heal lets every link pass again.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.links)
	n.notifyLocked()
}

// Members returns the members that have a proxy, in increasing order.
func (n *Network) Members() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ms []int
	for m := range n.proxies {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	return ms
}

// Partition splits the members into groups: each link between members of
// different groups is set to s in both directions (Drop for a plain
// partition, Blackhole for one that is silent), each link within a group
// passes. Members in no group keep their links as they are.
func (n *Network) Partition(s State, groups ...[]int) {
	group := map[int]int{}
	for g, ms := range groups {
		for _, m := range ms {
			group[m] = g
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for a, ga := range group {
		for b, gb := range group {
			if a == b {
				continue
			}
			if ga == gb {
				n.setLocked(Link{a, b}, State{})
			} else {
				n.setLocked(Link{a, b}, s)
			}
		}
	}
	n.notifyLocked()
}

// Isolate sets every link from and to member to s.
func (n *Network) Isolate(member int, s State) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for m := range n.proxies {
		if m != member {
			n.setLocked(Link{member, m}, s)
			n.setLocked(Link{m, member}, s)
		}
	}
	n.notifyLocked()
}

// Stats returns the counts so far.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Close stops every proxy and closes every connection. Links keep their
// states, but nothing flows any more.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for _, p := range n.proxies {
		p.l.Close()
	}
	for c := range n.conns {
		c.closeLocked()
	}
	n.notifyLocked()
	n.mu.Unlock()
	n.wg.Wait()
	return nil
}

// sender returns the member whose proxy URL is in header, an X-PeerURLs
// value (comma-separated URLs).
func (n *Network) senderLocked(header string) (int, bool) {
	for _, s := range strings.Split(header, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		for m, p := range n.proxies {
			if u.Host == p.Addr() {
				return m, true
			}
		}
	}
	return 0, false
}

func (p *Proxy) accept() {
	defer p.n.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return // closed
		}
		n := p.n
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			c.Close()
			return
		}
		cn := &conn{n: n, client: c, done: make(chan struct{})}
		n.conns[cn] = struct{}{}
		n.stats.Accepted++
		n.wg.Add(1)
		n.mu.Unlock()
		go p.serve(cn)
	}
}

// serve reads the head of the connection's request, finds its link and
// forwards it to the member.
func (p *Proxy) serve(c *conn) {
	defer p.n.wg.Done()
	defer c.close()
	c.client.SetReadDeadline(time.Now().Add(headTimeout))
	head, rest, err := readHead(c.client)
	if err != nil {
		return
	}
	c.client.SetReadDeadline(time.Time{})
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !c.setup(p, req, server) {
		return
	}
	first := append(closeAfterReply(head), rest...)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.pump(c.client, c.server, nil) // the member's answer
	}()
	c.pump(c.server, c.client, first) // the request
	wg.Wait()
}

// readHead reads from r up to the end of an HTTP request head (the blank
// line). It returns the head, blank line included, and the bytes read
// after it.
func readHead(r io.Reader) (head, rest []byte, err error) {
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for {
		k, err := r.Read(chunk)
		buf = append(buf, chunk[:k]...)
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], buf[i+4:], nil
		}
		if err != nil {
			return nil, nil, err
		}
		if len(buf) > maxHead {
			return nil, nil, errors.New("faultproxy: request head too large")
		}
	}
}

// closeAfterReply adds "Connection: close" to a request head, so that the
// connection carries this one request only.
func closeAfterReply(head []byte) []byte {
	end := len(head) - 2 // before the blank line's CRLF
	out := make([]byte, 0, len(head)+len("Connection: close\r\n"))
	out = append(out, head[:end]...)
	out = append(out, "Connection: close\r\n"...)
	return append(out, head[end:]...)
}

// conn is one proxied connection.
type conn struct {
	n      *Network
	client net.Conn
	server net.Conn // nil until set up
	known  bool     // the sender is a member: link applies
	link   Link
	done   chan struct{} // closed by close
	closed bool
}

// setup records the connection's link (from the request) and its
// connection to the member; it reports false, and counts a refusal, when
// the link is dropped.
func (c *conn) setup(p *Proxy, req *http.Request, server net.Conn) bool {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	c.server = server
	if c.closed {
		server.Close()
		return false
	}
	from, ok := n.senderLocked(req.Header.Get("X-PeerURLs"))
	if !ok {
		n.stats.Anonymous++
		return true
	}
	c.known = true
	c.link = Link{From: from, To: p.member}
	if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/raft/stream/") {
		c.link = Link{From: p.member, To: from}
	}
	if n.links[c.link].Kind == Drop {
		n.stats.Refused++
		c.closeLocked()
		return false
	}
	return true
}

func (c *conn) close() {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.closeLocked()
}

func (c *conn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	close(c.done)
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
	delete(c.n.conns, c)
}

// state returns the connection's link state and the channel closed at its
// next change.
func (c *conn) state() (State, <-chan struct{}) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if !c.known {
		return State{}, c.n.changed
	}
	return c.n.links[c.link], c.n.changed
}

// chunk is bytes read and the time they may be passed on.
type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst under the link's state: first is sent before
// anything read from src. It returns when src ends (after half-closing
// dst) or the connection is closed.
func (c *conn) pump(dst, src net.Conn, first []byte) {
	chunks := make(chan chunk, 16)
	go c.read(src, first, chunks)
	for ch := range chunks {
		if !c.waitDue(ch.due) {
			return
		}
		if _, err := dst.Write(ch.data); err != nil {
			c.close()
			return
		}
		c.n.mu.Lock()
		c.n.stats.Bytes += int64(len(ch.data))
		c.n.mu.Unlock()
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// read reads src into chunks, stamping each with the time it is due,
// until src ends or the connection closes. It reads nothing while the link
// is blackholed.
func (c *conn) read(src net.Conn, first []byte, chunks chan<- chunk) {
	defer close(chunks)
	var last time.Time
	send := func(b []byte) bool {
		st, _ := c.state()
		due := time.Now()
		if st.Kind == Delay {
			due = due.Add(st.Delay)
		}
		if due.Before(last) {
			due = last // keep the order when the delay shrinks
		}
		last = due
		select {
		case chunks <- chunk{b, due}:
			return true
		case <-c.done:
			return false
		}
	}
	if len(first) > 0 && !send(first) {
		return
	}
	for {
		if !c.waitFlowing() {
			return
		}
		buf := make([]byte, 32<<10)
		k, err := src.Read(buf)
		if k > 0 && !send(buf[:k]) {
			return
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			c.close()
			return
		}
	}
}

// waitFlowing waits while the link is blackholed; it reports false when
// the connection closes.
func (c *conn) waitFlowing() bool {
	for {
		st, changed := c.state()
		if st.Kind != Blackhole {
			return true
		}
		select {
		case <-changed:
		case <-c.done:
			return false
		}
	}
}

// waitDue waits until due and while the link is blackholed; it reports
// false when the connection closes.
func (c *conn) waitDue(due time.Time) bool {
	for {
		if !c.waitFlowing() {
			return false
		}
		d := time.Until(due)
		if d <= 0 {
			return true
		}
		_, changed := c.state()
		tm := time.NewTimer(d)
		select {
		case <-tm.C:
		case <-changed:
		case <-c.done:
			tm.Stop()
			return false
		}
		tm.Stop()
	}
}
