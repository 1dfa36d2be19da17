package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The whole-binary tests build etcd and etcdctl once, then start real
// processes on loopback ports and talk to them over HTTP or through
// etcdctl. Every process a test starts is killed when the test ends.

var bin struct {
	dir     string
	etcd    string
	etcdctl string
}

func TestMain(m *testing.M) {
	// Before anything connects anywhere: see reservePorts.
	reservePorts(discoveryWalkthroughURLs()...)
	dir, err := os.MkdirTemp("", "v2etcd-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.dir = dir
	// The binaries are built by a go command the test cache cannot see
	// into; reading every Go source file of the module here records them,
	// so changing any of them makes the next run test again.
	if err := readSources(".."); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	bin.etcd = filepath.Join(dir, "etcd")
	bin.etcdctl = filepath.Join(dir, "etcdctl")
	// E2E_RACE=1 builds the binaries with the race detector: every e2e test
	// then also checks the server and etcdctl for data races (slower).
	race := os.Getenv("E2E_RACE") == "1"
	for name, out := range map[string]string{"etcd": bin.etcd, "etcdctl": bin.etcdctl} {
		args := []string{"build", "-o", out}
		if race {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "v2etcd/"+name)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: cannot build %s: %v\n", name, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// readSources reads every .go file below root (vendor/ included).
func readSources(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod") {
			_, err = os.ReadFile(p)
		}
		return err
	})
}

// freePorts returns n TCP ports on 127.0.0.1 that the OS just handed out.
// They are free when returned; a process started right after binds them.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// waitPortsFree waits until the ports of the given URLs can be bound. Tests
// that must use fixed ports (they follow documented walkthroughs) call it
// before starting a process on them: some of those ports lie in the range
// the OS hands out for outgoing connections, so another test's connection
// can hold one for a moment. (When later processes of the test make
// long-lived connections meanwhile, use holdPorts instead.)
func waitPortsFree(t *testing.T, urls ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range urls {
		for {
			l, err := net.Listen("tcp", listenAddr(u))
			if err == nil {
				l.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port of %s stayed busy for 30 s: %v\n%s", u, err, socketsOn(listenAddr(u)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Fixed ports in the range the OS hands out as the local ports of
// outgoing connections (32768-60999 on Linux) can be busy when a test
// wants them: taken by a live connection, or by one that ended, whose
// socket stays in TIME_WAIT for 60 s and, made without SO_REUSEADDR,
// blocks a bind of the port all that time. While a port is bound, the OS
// never hands it out, so the ports of the discovery walkthrough are
// bound when the e2e tests start (reservePorts), before any connection,
// and handed to the walkthrough (holdPorts), which releases each just
// before the member that needs it starts.

// reserved holds the ports bound by reservePorts, by host:port.
var reserved struct {
	mu sync.Mutex
	ls map[string]net.Listener
}

// reservePorts binds the ports of urls that are free now, for holdPorts;
// a busy one is left for holdPorts to wait for.
func reservePorts(urls ...string) {
	reserved.mu.Lock()
	defer reserved.mu.Unlock()
	if reserved.ls == nil {
		reserved.ls = map[string]net.Listener{}
	}
	for _, u := range urls {
		if l, err := net.Listen("tcp", listenAddr(u)); err == nil {
			reserved.ls[listenAddr(u)] = l
		}
	}
}

// takeReserved returns the listener reservePorts bound for u, or nil.
func takeReserved(u string) net.Listener {
	reserved.mu.Lock()
	defer reserved.mu.Unlock()
	l := reserved.ls[listenAddr(u)]
	delete(reserved.ls, listenAddr(u))
	return l
}

// portHold keeps fixed ports bound by the test until the process that
// needs each one starts (see above).
type portHold struct {
	t  *testing.T
	ls map[string]net.Listener
}

// holdPorts binds the ports of the given URLs (taking those reservePorts
// holds, waiting for the others to be free, longer than TIME_WAIT lasts)
// until release or the end of the test.
func holdPorts(t *testing.T, urls ...string) *portHold {
	t.Helper()
	h := &portHold{t: t, ls: map[string]net.Listener{}}
	t.Cleanup(func() {
		for _, l := range h.ls {
			l.Close()
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for _, u := range urls {
		if l := takeReserved(u); l != nil {
			h.ls[u] = l
			continue
		}
		for {
			l, err := net.Listen("tcp", listenAddr(u))
			if err == nil {
				h.ls[u] = l
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port of %s stayed busy for 90 s: %v\n%s", u, err, socketsOn(listenAddr(u)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return h
}

// release unbinds the ports of urls, just before a process binds them.
func (h *portHold) release(urls ...string) {
	h.t.Helper()
	for _, u := range urls {
		l, ok := h.ls[u]
		if !ok {
			h.t.Fatalf("port of %s is not held", u)
		}
		l.Close()
		delete(h.ls, u)
	}
}

// socketsOn describes the TCP sockets of this machine whose local port is
// that of addr (from /proc/net/tcp and tcp6, on Linux), to show what keeps
// a fixed port busy.
func socketsOn(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	p, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	hexPort := fmt.Sprintf(":%04X", p)
	var out strings.Builder
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(line)
			if len(fields) >= 10 && strings.HasSuffix(fields[1], hexPort) {
				fmt.Fprintf(&out, "%s: local %s remote %s state %s inode %s\n", f, fields[1], fields[2], fields[3], fields[9])
			}
		}
	}
	if out.Len() == 0 {
		return "no socket found on that port"
	}
	return "sockets on that port (state 01 established, 06 time-wait, 0A listen):\n" + out.String()
}

// listenAddr is the host:port of a URL, with localhost as 127.0.0.1.
func listenAddr(u string) string {
	host := u[strings.Index(u, "://")+3:]
	return strings.Replace(host, "localhost:", "127.0.0.1:", 1)
}

// syncBuffer is a goroutine-safe buffer for a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running etcd process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // the exit error, once done is closed
}

// startProc starts the binary with args in dir; the test's cleanup kills it.
func startProc(t *testing.T, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &proc{t: t, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("output of %s %s:\n%s", filepath.Base(name), strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// Kill sends SIGKILL and waits for the process to end.
func (p *proc) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits (up to 20 s) for a graceful exit.
func (p *proc) Stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("process did not stop within 20 s after SIGTERM")
		p.Kill()
	}
}

// Exited reports whether the process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits for the process to end by itself and returns its exit code.
func (p *proc) waitExit(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("process still running after %v", d)
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	p.t.Fatalf("process: %v", p.err)
	return -1
}

// member describes one etcd member of a test cluster.
type member struct {
	name      string
	dataDir   string
	clientURL string
	peerURL   string
	p         *proc
}

// newMember picks fresh ports and a data directory for a member.
func newMember(t *testing.T, name string) *member {
	ports := freePorts(t, 2)
	return &member{
		name:      name,
		dataDir:   filepath.Join(t.TempDir(), name+".etcd"),
		clientURL: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		peerURL:   "http://127.0.0.1:" + strconv.Itoa(ports[1]),
	}
}

// flags are the flags naming m, its data directory and its URLs,
// followed by extra (which says how it finds its cluster).
func (m *member) flags(extra ...string) []string {
	return append([]string{
		"--name", m.name, "--data-dir", m.dataDir,
		"--listen-client-urls", m.clientURL, "--advertise-client-urls", m.clientURL,
		"--listen-peer-urls", m.peerURL, "--initial-advertise-peer-urls", m.peerURL,
	}, extra...)
}

// args are the flags that start m in initialCluster, followed by extra.
func (m *member) args(initialCluster string, extra ...string) []string {
	return m.flags(append([]string{"--initial-cluster", initialCluster}, extra...)...)
}

// start starts m alone (a one-member cluster) and waits until it serves.
func (m *member) startAlone(t *testing.T, extra ...string) {
	t.Helper()
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(m.name+"="+m.peerURL, extra...)...)
	waitReady(t, m)
}

// waitReady waits until m answers a quorum read, i.e. has a leader and has
// applied everything before.
func waitReady(t *testing.T, m *member) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(m.clientURL + "/v2/keys/?quorum=true")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if m.p.Exited() {
			t.Fatalf("%s exited before it served:\n%s", m.name, m.p.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not serve within 20 s:\n%s", m.name, m.p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpDo sends a request with a form body (for PUT/POST) and returns status,
// headers and body.
func httpDo(t *testing.T, method, url, form string) (int, http.Header, string) {
	t.Helper()
	ct := ""
	if form != "" {
		ct = "application/x-www-form-urlencoded"
	}
	return httpDoType(t, method, url, ct, form)
}

// httpDoType sends a request with a body of the given Content-Type (none
// when ct is empty) and returns status, headers and body.
func httpDoType(t *testing.T, method, url, ct, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// etcdctl runs the etcdctl binary (see runCtl) and returns its stdout,
// stderr and exit code.
func etcdctl(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	r := runCtl(t, env, "", args...)
	return r.stdout, r.stderr, r.code
}

// TestSocketsOn checks the diagnosis printed when a fixed port stays busy:
// a listener of this test must show up, in the listen state.
func TestSocketsOn(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := socketsOn(l.Addr().String())
	if !strings.Contains(got, "state 0A") {
		t.Errorf("socketsOn(%s) = %q, want the listener", l.Addr(), got)
	}
}
