package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is a canned HTTP answer of the stub server. When handler is set
// it answers instead.
type answer struct {
	status  int
	header  map[string]string
	body    string
	handler http.HandlerFunc
}

// keys returns a /v2/keys answer: JSON with X-Etcd-Index, as etcd sends it.
func keys(status int, index int, body string) answer {
	return answer{
		status: status,
		header: map[string]string{"Content-Type": "application/json", "X-Etcd-Index": fmt.Sprint(index)},
		body:   body + "\n",
	}
}

// hang is an answer that never comes: the handler waits until the client
// gives up.
func hang() answer {
	return answer{handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}
}

// stubEtcd is an HTTP server on loopback that answers as etcd 2.3.8 does,
// from canned answers keyed by "METHOD /escaped/path" (the query is not
// part of the key; a key ending in "*" matches every path it prefixes). A key with several answers gives them in turn and
// repeats the last. GET /v2/members has a default answer: one member,
// named "default", whose client URL is the stub itself. Unknown paths get
// etcd's 404 page. Every request is recorded.
type stubEtcd struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	routes   map[string][]answer
	requests []string
	auth     []string
	ctypes   []string
}

// newStub starts a stub server; the test closes it.
func newStub(t *testing.T) *stubEtcd {
	t.Helper()
	s := &stubEtcd{t: t, routes: map[string][]answer{}}
	s.Server = httptest.NewServer(httpHandler(s))
	t.Cleanup(s.Close)
	return s
}

// httpHandler returns the stub's handler.
func httpHandler(s *stubEtcd) http.Handler { return http.HandlerFunc(s.serve) }

// on sets the answers to a request.
func (s *stubEtcd) on(methodPath string, answers ...answer) *stubEtcd {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[methodPath] = answers
	return s
}

// membersJSON is the body of GET /v2/members with one started member per
// client URL.
func membersJSON(clientURLs ...string) string {
	var ms []string
	for i, u := range clientURLs {
		ms = append(ms, fmt.Sprintf(`{"id":"%x","name":"m%d","peerURLs":["http://127.0.0.1:%d"],"clientURLs":[%q]}`, 0xa0+i, i, 2380+i, u))
	}
	return `{"members":[` + strings.Join(ms, ",") + "]}\n"
}

func (s *stubEtcd) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.EscapedPath()
	s.mu.Lock()
	rec := r.Method + " " + r.URL.RequestURI()
	if len(body) > 0 || r.Method == http.MethodPut || r.Method == http.MethodPost {
		rec += " -d " + string(body)
	}
	s.requests = append(s.requests, rec)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.ctypes = append(s.ctypes, r.Header.Get("Content-Type"))
	answers, ok := s.routes[key]
	if !ok {
		// "METHOD /prefix*" answers every path under the prefix.
		for k, v := range s.routes {
			if p, found := strings.CutSuffix(k, "*"); found && strings.HasPrefix(key, p) {
				key, answers, ok = k, v, true
				break
			}
		}
	}
	var a answer
	if ok {
		a = answers[0]
		if len(answers) > 1 {
			s.routes[key] = answers[1:]
		}
	}
	s.mu.Unlock()
	switch {
	case !ok && key == "GET /v2/members":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, membersJSON(s.URL))
	case !ok:
		http.NotFound(w, r)
	case a.handler != nil:
		a.handler(w, r)
	default:
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}
}

// got returns the requests received so far, members listings included.
func (s *stubEtcd) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// keyRequests returns the requests received so far without the member
// listings of the sync.
func (s *stubEtcd) keyRequests() []string {
	var out []string
	for _, r := range s.got() {
		if r != "GET /v2/members" {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (exec-watch's
// children write to stdout while etcdctl runs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runOpts are the surroundings of one in-process run of etcdctl.
type runOpts struct {
	env       map[string]string
	stdin     string
	password  string
	interrupt chan os.Signal // Ctrl-C; nil: never
	terminal  bool           // stdout is a terminal
	reverse   bool           // "shuffle" endpoints by reversing them
	environ   []string       // the process environment exec-watch passes on
	health    time.Duration  // pause between cluster-health rounds
}

// result is what one run printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// run runs etcdctl in-process with deterministic surroundings: endpoints
// keep their order (or are reversed), the environment is o.env only, stdin
// is o.stdin, Ctrl-C comes from o.interrupt.
func run(o runOpts, args ...string) result {
	var stdout, stderr syncBuffer
	a := &app{
		stdin:   strings.NewReader(o.stdin),
		stdout:  &stdout,
		stderr:  &stderr,
		getenv:  func(k string) string { return o.env[k] },
		environ: func() []string { return o.environ },
		shuffle: func(eps []url.URL) {
			if o.reverse {
				for i, j := 0, len(eps)-1; i < j; i, j = i+1, j-1 {
					eps[i], eps[j] = eps[j], eps[i]
				}
			}
		},
		readPassword: func(prompt string) (string, error) {
			fmt.Fprint(&stdout, prompt+"\n")
			return o.password, nil
		},
		notifyInterrupt: func() (<-chan os.Signal, func()) {
			if o.interrupt == nil {
				return make(chan os.Signal), func() {}
			}
			return o.interrupt, func() {}
		},
		stdoutIsTerminal: func() bool { return o.terminal },
		healthInterval:   o.health,
	}
	code := a.run(args)
	// exec-watch does not wait for the commands it started; the test
	// does, so that their output is complete.
	a.children.Wait()
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// ep returns the global options that point etcdctl at a server.
func ep(u string, more ...string) []string {
	return append([]string{"--endpoints", u}, more...)
}

// check compares a result with what was expected.
func check(t *testing.T, got result, stdout, stderr string, code int) {
	t.Helper()
	if got.stdout != stdout {
		t.Errorf("stdout:\n got %q\nwant %q", got.stdout, stdout)
	}
	if got.stderr != stderr {
		t.Errorf("stderr:\n got %q\nwant %q", got.stderr, stderr)
	}
	if got.code != code {
		t.Errorf("exit code: got %d, want %d", got.code, code)
	}
}

// closedURL returns the URL of a loopback port nothing listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// hostPort returns the host:port of a URL.
func hostPort(u string) string { return strings.TrimPrefix(u, "http://") }
