package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"v2etcd/e2e/faultproxy"
)

// The cluster of the fault tests: real etcd processes on loopback whose
// peer traffic crosses a faultproxy.Network, in slots that keep their
// ports, proxy and name across kills, restarts and re-adds.

// slotState is what the fault driver did to a slot's member.
type slotState int

const (
	slotUp      slotState = iota // running (maybe partitioned)
	slotKilled                   // killed with SIGKILL, to be restarted
	slotPaused                   // stopped with SIGSTOP, to be continued
	slotRemoved                  // removed from the cluster, process gone
)

// fslot is one member's place in the cluster. Only the goroutine that
// drives the faults changes a slot; clients and watchers use its client
// URL only, which never changes.
type fslot struct {
	i         int
	name      string
	clientURL string
	peerAddr  string // host:port the member listens on for peers
	proxy     *faultproxy.Proxy
	dir       string // the slot's directory: data directories, logs

	starts  int    // processes started in this slot
	dataDir string // the current data directory
	syncLog string // the current V2ETCD_WAL_SYNC_LOG file, or ""
	args    []string
	env     []string // the last start's arguments and environment
	p       *fproc
	state   slotState
}

// fcluster is a cluster whose members talk through fault proxies.
type fcluster struct {
	t       *testing.T
	dir     string // kept when the test fails: data directories and logs
	net     *faultproxy.Network
	slots   []*fslot
	token   string
	flags   []string
	storage bool // members record their WAL syncs (V2ETCD_WAL_SYNC_LOG)
	hc      *http.Client
}

// fproc is a member process whose output goes to a file.
type fproc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// newFCluster makes n slots with their ports and proxies in dir. Nothing
// is started.
func newFCluster(t *testing.T, dir string, n int, storage bool, flags []string) *fcluster {
	t.Helper()
	c := &fcluster{
		t: t, dir: dir, net: faultproxy.New(), token: "faults-" + filepath.Base(dir),
		flags: flags, storage: storage,
		hc: &http.Client{Timeout: 2 * time.Second},
	}
	t.Cleanup(func() {
		for _, s := range c.slots {
			if s.p != nil {
				s.p.kill()
			}
		}
		c.net.Close()
	})
	for i := 0; i < n; i++ {
		ports := freePorts(t, 2)
		s := &fslot{
			i: i, name: fmt.Sprintf("f%d", i+1),
			clientURL: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
			peerAddr:  "127.0.0.1:" + strconv.Itoa(ports[1]),
			dir:       filepath.Join(dir, fmt.Sprintf("f%d", i+1)),
		}
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		p, err := c.net.Listen(i, s.peerAddr)
		if err != nil {
			t.Fatal(err)
		}
		s.proxy = p
		c.slots = append(c.slots, s)
	}
	return c
}

// initialCluster names every slot's member at its proxy URL.
func (c *fcluster) initialCluster() string {
	var parts []string
	for _, s := range c.slots {
		parts = append(parts, s.name+"="+s.proxy.URL())
	}
	return strings.Join(parts, ",")
}

// start starts every member of a new cluster and waits until each serves.
func (c *fcluster) start() {
	c.t.Helper()
	for _, s := range c.slots {
		c.startSlot(s, true, false)
	}
	for _, s := range c.slots {
		c.waitServing(s, 30*time.Second)
	}
}

// startSlot starts the slot's member: in a fresh data directory when
// fresh, joining a running cluster when existing.
func (c *fcluster) startSlot(s *fslot, fresh, existing bool) {
	c.t.Helper()
	s.starts++
	if fresh {
		s.dataDir = filepath.Join(s.dir, fmt.Sprintf("data%d", s.starts))
	}
	args := []string{
		"--name", s.name, "--data-dir", s.dataDir,
		"--listen-client-urls", s.clientURL, "--advertise-client-urls", s.clientURL,
		"--listen-peer-urls", "http://" + s.peerAddr, "--initial-advertise-peer-urls", s.proxy.URL(),
		"--initial-cluster", c.initialCluster(), "--initial-cluster-token", c.token,
	}
	if existing {
		args = append(args, "--initial-cluster-state", "existing")
	}
	args = append(args, c.flags...)
	var env []string
	s.syncLog = ""
	if c.storage {
		s.syncLog = filepath.Join(s.dir, fmt.Sprintf("walsync%d.log", s.starts))
		env = append(env, "V2ETCD_WAL_SYNC_LOG="+s.syncLog)
	}
	s.args, s.env = args, env
	c.launch(s)
}

// launch starts the slot's process with its last arguments, once its
// ports are free.
func (c *fcluster) launch(s *fslot) {
	c.t.Helper()
	s.waitPorts()
	p, err := startFproc(filepath.Join(s.dir, fmt.Sprintf("out%d.log", s.starts)), s.env, s.args)
	if err != nil {
		c.t.Fatalf("%s: %v", s.name, err)
	}
	s.p = p
	s.state = slotUp
}

// waitPorts waits (up to 10 s) until the slot's client and peer ports can
// be bound. They lie in the range the OS hands out for outgoing
// connections, so while the member is down one may hold a port for a
// moment. (If one takes it between this check and the member's bind, the
// member exits at once and checkAlive starts it again.)
func (s *fslot) waitPorts() {
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range []string{strings.TrimPrefix(s.clientURL, "http://"), s.peerAddr} {
		for {
			l, err := net.Listen("tcp", addr)
			if err == nil {
				l.Close()
				break
			}
			if time.Now().After(deadline) {
				return // the member's start reports it
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func startFproc(logPath string, env, args []string) (*fproc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin.etcd, args...)
	cmd.Dir = filepath.Dir(logPath)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &fproc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// kill sends SIGKILL (which also ends a stopped process) and waits.
func (p *fproc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// signal sends sig to the process unless it has ended.
func (p *fproc) signal(sig syscall.Signal) {
	if !p.exited() {
		syscall.Kill(p.cmd.Process.Pid, sig)
	}
}

func (p *fproc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// output returns the process's output so far.
func (p *fproc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitServing waits until the slot's member answers a quorum read.
func (c *fcluster) waitServing(s *fslot, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, _, _ := c.get(s, "/v2/keys/?quorum=true")
		if code == 200 {
			return
		}
		if s.p.exited() {
			if strings.Contains(lastLines(s.p.output(), 5), "address already in use") {
				c.t.Logf("%s could not bind a port: starting it again", s.name)
				s.starts++
				c.launch(s)
				continue
			}
			c.t.Fatalf("%s exited before it served (%v); output in %s", s.name, s.p.err, s.p.log)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s did not serve within %v; output in %s", s.name, d, s.p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get sends a GET to the slot's member; code 0 means no answer.
func (c *fcluster) get(s *fslot, path string) (int, http.Header, []byte) {
	return c.do(s, "GET", path, "", "")
}

// do sends a request to the slot's member with the cluster's short
// timeout; code 0 means no answer.
func (c *fcluster) do(s *fslot, method, path, contentType, body string) (int, http.Header, []byte) {
	req, err := http.NewRequest(method, s.clientURL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil
	}
	return resp.StatusCode, resp.Header, b
}

// up returns the slots whose member runs (partitioned or not).
func (c *fcluster) up() []*fslot {
	var out []*fslot
	for _, s := range c.slots {
		if s.state == slotUp {
			out = append(out, s)
		}
	}
	return out
}

// leader returns the slot every running member that answers names as
// leader (a majority of the answers), or nil when they do not agree
// within d.
func (c *fcluster) leader(d time.Duration) *fslot {
	deadline := time.Now().Add(d)
	for {
		votes := map[string]int{}
		for _, s := range c.up() {
			code, _, body := c.get(s, "/v2/members/leader")
			var m struct{ Name string }
			if code == 200 && json.Unmarshal(body, &m) == nil {
				votes[m.Name]++
			}
		}
		for name, v := range votes {
			if 2*v > len(c.up()) {
				for _, s := range c.slots {
					if s.name == name && s.state == slotUp {
						return s
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// members returns the membership as the slot's member lists it.
func (c *fcluster) members(s *fslot) ([]memberInfo, error) {
	code, _, body := c.get(s, "/v2/members")
	if code != 200 {
		return nil, fmt.Errorf("GET /v2/members on %s: %d %s", s.name, code, body)
	}
	var ml struct{ Members []memberInfo }
	if err := json.Unmarshal(body, &ml); err != nil {
		return nil, fmt.Errorf("GET /v2/members on %s: %w", s.name, err)
	}
	return ml.Members, nil
}

// memberID returns the ID of the member at the slot's proxy URL, as any
// running member other than skip lists it, or "" with the last error.
func (c *fcluster) memberID(s, skip *fslot) (string, error) {
	err := errors.New("no running member to ask")
	for _, via := range c.up() {
		if via == skip {
			continue
		}
		var ms []memberInfo
		if ms, err = c.members(via); err != nil {
			continue
		}
		for _, m := range ms {
			if slices.Contains(m.PeerURLs, s.proxy.URL()) {
				return m.ID, nil
			}
		}
		return "", nil
	}
	return "", err
}

// removeMember removes the slot's member from the cluster through another
// member and ends its process: it exits by itself once it learns of its
// removal, or is killed after exitWait. It reports whether the process
// exited by itself.
func (c *fcluster) removeMember(s *fslot, pick func(n int) int, exitWait time.Duration) (bool, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		id, err := c.memberID(s, s)
		if err == nil && id == "" {
			break // gone: an earlier attempt whose answer was lost did it
		}
		if err == nil {
			others := slices.DeleteFunc(c.up(), func(o *fslot) bool { return o == s })
			via := others[pick(len(others))]
			code, _, body := c.do(via, "DELETE", "/v2/members/"+id, "", "")
			if code == 204 || code == 410 {
				break
			}
			err = fmt.Errorf("DELETE /v2/members/%s via %s: %d %s", id, via.name, code, body)
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("removing %s for 30 s: %w", s.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	byItself := true
	select {
	case <-s.p.done:
	case <-time.After(exitWait):
		byItself = false
		s.p.kill()
	}
	s.state = slotRemoved
	return byItself, nil
}

// addMember adds the slot back to the cluster (its proxy URL, a new member
// ID) and starts it in a fresh data directory with --initial-cluster-state
// existing.
func (c *fcluster) addMember(s *fslot, pick func(n int) int) error {
	deadline := time.Now().Add(30 * time.Second)
	body := `{"peerURLs":["` + s.proxy.URL() + `"]}`
	for {
		up := c.up()
		via := up[pick(len(up))]
		code, _, resp := c.do(via, "POST", "/v2/members", "application/json", body)
		if code == 201 {
			break
		}
		err := fmt.Errorf("POST /v2/members via %s: %d %s", via.name, code, resp)
		if code == 409 { // an earlier attempt whose answer was lost added it
			if id, e := c.memberID(s, nil); e == nil && id != "" {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("adding %s back for 30 s: %w", s.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.startSlot(s, true, true)
	return nil
}

// debugVars are the variables of /debug/vars the checks compare.
type debugVars struct {
	StoreIndex   uint64 `json:"etcd_store_index"`
	StoreHash    string `json:"etcd_store_hash"`
	AppliedIndex uint64 `json:"raft_applied_index"`
	MemberID     string `json:"etcd_member_id"`
}

func (c *fcluster) vars(s *fslot) (debugVars, error) {
	var v debugVars
	code, _, body := c.get(s, "/debug/vars")
	if code != 200 {
		return v, fmt.Errorf("GET /debug/vars on %s: %d", s.name, code)
	}
	err := json.Unmarshal(body, &v)
	return v, err
}

// settle waits until every member holds the same store (index and hash)
// and lists the same members; it fails the test when they still differ
// after d, showing what each holds.
func (c *fcluster) settle(d time.Duration) debugVars {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var last debugVars
		same := true
		var seen []string
		for _, s := range c.slots {
			v, err := c.vars(s)
			if err != nil {
				same = false
				seen = append(seen, err.Error())
				continue
			}
			seen = append(seen, fmt.Sprintf("%s: store index %d hash %s applied %d", s.name, v.StoreIndex, v.StoreHash, v.AppliedIndex))
			if s != c.slots[0] && (v.StoreIndex != last.StoreIndex || v.StoreHash != last.StoreHash) {
				same = false
			}
			last = v
		}
		if same {
			if err := c.sameMembers(); err == nil {
				return last
			} else if time.Now().After(deadline) {
				c.t.Fatalf("the members list different memberships after %v: %v", d, err)
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the members hold different stores after %v:\n  %s", d, strings.Join(seen, "\n  "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sameMembers checks that every member lists the same members, one per
// slot, each started (named) with the slot's name.
func (c *fcluster) sameMembers() error {
	var first string
	for _, s := range c.slots {
		ms, err := c.members(s)
		if err != nil {
			return err
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.Name+"@"+strings.Join(m.PeerURLs, ",")+"#"+m.ID)
		}
		slices.Sort(names)
		got := strings.Join(names, " ")
		if len(ms) != len(c.slots) {
			return fmt.Errorf("%s lists %d members: %s", s.name, len(ms), got)
		}
		for _, o := range c.slots {
			if !strings.Contains(got, o.name+"@"+o.proxy.URL()+"#") {
				return fmt.Errorf("%s does not list %s started at %s: %s", s.name, o.name, o.proxy.URL(), got)
			}
		}
		if first == "" {
			first = got
		} else if got != first {
			return fmt.Errorf("%s lists %s, %s lists %s", c.slots[0].name, first, s.name, got)
		}
	}
	return nil
}

// quorumGet reads key with quorum=true through any running member, trying
// until one answers or ctx ends. It returns the answer's code (0 or 100)
// and the value.
func (c *fcluster) quorumGet(ctx context.Context, key string) (int, string, error) {
	for i := 0; ; i++ {
		s := c.slots[i%len(c.slots)]
		code, _, body := c.get(s, "/v2/keys"+key+"?quorum=true")
		switch code {
		case 200:
			var ev event
			if err := json.Unmarshal(body, &ev); err != nil {
				return 0, "", fmt.Errorf("GET %s on %s: %w", key, s.name, err)
			}
			return 0, ev.Node.Value, nil
		case 404:
			var e struct{ ErrorCode int }
			if json.Unmarshal(body, &e) == nil && e.ErrorCode == 100 {
				return 100, "", nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("quorum read of %s: no member answered: %w", key, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// put writes key=value through any running member until one acknowledges
// it or ctx ends, and returns its modified index.
func (c *fcluster) put(ctx context.Context, key, value string) (uint64, error) {
	for i := 0; ; i++ {
		up := c.slots
		s := up[i%len(up)]
		code, _, body := c.do(s, "PUT", "/v2/keys"+key, "application/x-www-form-urlencoded", "value="+value)
		if code == 200 || code == 201 {
			var ev event
			if err := json.Unmarshal(body, &ev); err != nil {
				return 0, fmt.Errorf("PUT %s on %s: %w", key, s.name, err)
			}
			return ev.Node.ModifiedIndex, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("PUT %s: no member acknowledged: %w", key, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// etcdIndex returns the X-Etcd-Index of any member that answers a local
// read of the root, or an error when none does before ctx ends.
func (c *fcluster) etcdIndex(ctx context.Context, pick func(int) int) (uint64, error) {
	for {
		s := c.slots[pick(len(c.slots))]
		if code, h, _ := c.get(s, "/v2/keys/"); code == 200 {
			if n, err := strconv.ParseUint(h.Get("X-Etcd-Index"), 10, 64); err == nil {
				return n, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no member told its index: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// preload writes n keys under /preload through the members, 32 at a time,
// so that the raft log grows past the tail a leader keeps for lagging
// followers (raft.DefaultCatchUpEntries): a member added back with an
// empty data directory can then only catch up from a snapshot.
func (c *fcluster) preload(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errc := make(chan error, 32)
	for w := 0; w < 32; w++ {
		go func() {
			for i := w; i < n; i += 32 {
				if _, err := c.put(ctx, fmt.Sprintf("/preload/%05d", i), "x"); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	var first error
	for w := 0; w < 32; w++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
