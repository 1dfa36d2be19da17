package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The etcdctl tests run the etcdctl binary against real etcd processes and
// compare what it prints, byte for byte, with what etcdctl 2.3.8 prints.
// Where a value cannot be known in advance (times, TTL seconds) the
// expected text holds a placeholder; member IDs and URLs, which depend on
// ports and clocks, are read from the cluster first; etcd indexes are
// written relative to the index before the test's first write.

// ctlResult is what one etcdctl run printed and its exit code.
type ctlResult struct {
	stdout, stderr string
	code           int
}

func (r ctlResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// ctlEnv is the test process's environment without any ETCDCTL_ variable,
// followed by env.
func ctlEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// runCtl runs etcdctl with the extra environment env and stdin as its
// standard input, and returns what it printed.
func runCtl(t *testing.T, env []string, stdin string, args ...string) ctlResult {
	t.Helper()
	cmd := exec.Command(bin.etcdctl, args...)
	cmd.Env = ctlEnv(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("etcdctl %s did not finish within 60 s", strings.Join(args, " "))
	}
	return ctlResult{stdout.String(), stderr.String(), exitCode(t, err)}
}

// exitCode is the exit code behind the error of exec.Cmd.Wait.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// ctlProc is an etcdctl process that runs until it is stopped (watch,
// exec-watch).
type ctlProc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

// startCtl starts etcdctl in the background; the test's cleanup kills it.
func startCtl(t *testing.T, args ...string) *ctlProc {
	t.Helper()
	p := &ctlProc{t: t, cmd: exec.Command(bin.etcdctl, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = ctlEnv(nil)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitStdout waits until the process has printed at least n lines.
func (p *ctlProc) waitStdout(n int) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(p.stdout.String(), "\n") < n {
		select {
		case <-p.done:
			p.t.Fatalf("etcdctl ended before printing %d lines: %v\n%s%s", n, p.err, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("etcdctl printed no %d lines within 20 s:\n%s%s", n, p.stdout, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the process to end by itself and returns what it printed.
func (p *ctlProc) wait() ctlResult {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("etcdctl still running after 20 s:\n%s%s", p.stdout, p.stderr)
	}
	return ctlResult{p.stdout.String(), p.stderr.String(), exitCode(p.t, p.err)}
}

// interrupt sends Ctrl-C (SIGINT) and waits for the process to end.
func (p *ctlProc) interrupt() ctlResult {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	return p.wait()
}

// waitWatchers waits until member m has n watchers registered. Waiting for
// none before a watch starts and then for one makes sure that a write made
// next is seen by that watch.
func waitWatchers(t *testing.T, m *member, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, body := httpDo(t, "GET", m.clientURL+"/v2/stats/store", "")
		var st struct{ Watchers int }
		json.Unmarshal([]byte(body), &st)
		if st.Watchers == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers after 20 s, want %d", st.Watchers, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fastElection makes a one-member cluster elect itself at once (it has no
// peers whose heartbeats could be late).
func fastElection() []string {
	return []string{"--heartbeat-interval", "10", "--election-timeout", "100"}
}

// startSettled starts a one-member cluster and waits until it has written
// what a new member writes by itself (its attributes, the cluster
// version), so that the etcd index moves only with the test's writes.
func startSettled(t *testing.T, name string) *member {
	t.Helper()
	m := newMember(t, name)
	m.startAlone(t, fastElection()...)
	waitSettled(t, m.clientURL, http.DefaultClient)
	return m
}

// waitSettled waits until the cluster version is set and every member
// has published its name.
func waitSettled(t *testing.T, clientURL string, hc *http.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v struct{ Etcdcluster string }
		var ml struct{ Members []struct{ Name string } }
		if getJSON(hc, clientURL+"/version", &v) && getJSON(hc, clientURL+"/v2/members", &ml) &&
			v.Etcdcluster != "" && v.Etcdcluster != "not_decided" &&
			!slices.ContainsFunc(ml.Members, func(m struct{ Name string }) bool { return m.Name == "" }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: cluster version or member names not set within 20 s", clientURL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getJSON GETs url and decodes the JSON answer into v; it reports success.
func getJSON(hc *http.Client, url string, v any) bool {
	resp, err := hc.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
}

// etcdIndex returns the X-Etcd-Index member m answers with now.
func etcdIndex(t *testing.T, m *member) uint64 {
	t.Helper()
	_, h, _ := httpDo(t, "GET", m.clientURL+"/v2/keys/", "")
	return atoi(t, h.Get("X-Etcd-Index"))
}

// tmpl expands the placeholders of expected texts and arguments:
//
//	{N}     the etcd index base+N (N a number)
//	{Nz}    the same, written with 20 digits as in-order keys are named
//	{name}  vars[name], for example {k} for the test's key prefix
//	{TIME}  (expected texts only) an RFC 3339 time
//	{TTL}   (expected texts only) a whole number of seconds
//	{INDEX} (expected texts only) any etcd index
//	{PEEK}  (expected texts only) Go's HTTP client's prefix
//	        "readLoopPeekFailLocked: ", or nothing: which of the two an
//	        error read while the client waits for an answer gets depends
//	        on timing (etcdctl 2.3.8 built with today's Go does the same)
//
// Everything else is literal.
type tmpl struct {
	base uint64
	vars map[string]string
}

var placeholderRE = regexp.MustCompile(`\{(\d+z?|[A-Za-z][A-Za-z0-9]*)\}`)

// value returns the text of a placeholder; ok is false for the ones that
// stand for a pattern (TIME, TTL, INDEX, PEEK) or are unknown.
func (x tmpl) value(name string) (string, bool) {
	if n, err := strconv.ParseUint(strings.TrimSuffix(name, "z"), 10, 64); err == nil {
		if strings.HasSuffix(name, "z") {
			return fmt.Sprintf("%020d", x.base+n), true
		}
		return strconv.FormatUint(x.base+n, 10), true
	}
	v, ok := x.vars[name]
	return v, ok
}

// expand replaces the placeholders of s by their values.
func (x tmpl) expand(s string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(p string) string {
		v, ok := x.value(p[1 : len(p)-1])
		if !ok {
			panic("no value for placeholder " + p)
		}
		return v
	})
}

// args expands s and splits it on spaces.
func (x tmpl) args(s string) []string { return strings.Fields(x.expand(s)) }

// match reports whether got is want with its placeholders filled in.
func (x tmpl) match(want, got string) bool {
	var re strings.Builder
	re.WriteString(`\A`)
	last := 0
	for _, loc := range placeholderRE.FindAllStringSubmatchIndex(want, -1) {
		re.WriteString(regexp.QuoteMeta(want[last:loc[0]]))
		name := want[loc[2]:loc[3]]
		switch name {
		case "TIME":
			re.WriteString(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
		case "TTL", "INDEX":
			re.WriteString(`\d+`)
		case "PEEK":
			re.WriteString(`(readLoopPeekFailLocked: )?`)
		default:
			v, ok := x.value(name)
			if !ok {
				panic("no value for placeholder {" + name + "}")
			}
			re.WriteString(regexp.QuoteMeta(v))
		}
		last = loc[1]
	}
	re.WriteString(regexp.QuoteMeta(want[last:]))
	re.WriteString(`\z`)
	return regexp.MustCompile(re.String()).MatchString(got)
}

// check compares one etcdctl run with the expected stdout, stderr and exit
// code, and makes sure no Go panic or stack trace was printed.
func (x tmpl) check(t *testing.T, what string, got ctlResult, stdout, stderr string, code int) {
	t.Helper()
	if !x.match(stdout, got.stdout) || !x.match(stderr, got.stderr) || got.code != code {
		t.Errorf("%s:\ngot %v\nwant exit %d\n--- stdout:\n%s--- stderr:\n%s", what, got, code, x.expand(loosen(stdout)), x.expand(loosen(stderr)))
	}
	noStackTrace(t, what, got)
}

// loosen turns the pattern placeholders into text that expand keeps, for
// error messages.
func loosen(s string) string {
	return strings.NewReplacer("{TIME}", "<time>", "{TTL}", "<ttl>", "{INDEX}", "<index>", "{PEEK}", "").Replace(s)
}

// noStackTrace fails the test if etcdctl printed a panic or a stack trace.
func noStackTrace(t *testing.T, what string, got ctlResult) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "runtime error", ".go:"} {
		if strings.Contains(got.stderr, s) || strings.Contains(got.stdout, s) {
			t.Errorf("%s: output holds %q:\n%v", what, s, got)
		}
	}
}

// keyResult describes a key result as the server returns it, for
// building what etcdctl prints in each output format. Indexes are offsets
// from the test's base index.
type keyResult struct {
	action  string
	key     string
	value   string
	dir     bool
	created int
	mod     int
	ttl     bool       // the node has a TTL (and an expiration)
	expired bool       // the node has an expiration but no TTL left
	prev    *keyResult // the previous node, if any
	index   int        // X-Etcd-Index; 0: the same as mod
}

// nodeJSON is the node as etcdctl -o json prints it.
func (r *keyResult) nodeJSON() string {
	if r == nil {
		return "null"
	}
	s := fmt.Sprintf(`{"key":%q`, r.key)
	if r.dir {
		s += `,"dir":true`
	}
	s += fmt.Sprintf(`,"value":%q,"nodes":null,"createdIndex":{%d},"modifiedIndex":{%d}`, r.value, r.created, r.mod)
	switch {
	case r.ttl:
		s += `,"expiration":"{TIME}","ttl":{TTL}`
	case r.expired:
		s += `,"expiration":"{TIME}"`
	}
	return s + "}"
}

// outputs returns what etcdctl prints for the result in the simple,
// extended and json formats, as templates.
func (r *keyResult) outputs() [3]string {
	var simple string
	if r.action == "delete" {
		simple = "PrevNode.Value: " + r.prev.value + "\n"
	} else {
		simple = r.value + "\n"
	}
	ext := fmt.Sprintf("Key: %s\nCreated-Index: {%d}\nModified-Index: {%d}\n", r.key, r.created, r.mod)
	if r.prev != nil {
		ext += "PrevNode.Value: " + r.prev.value + "\n"
	}
	ttl := "0"
	if r.ttl {
		ttl = "{TTL}"
	}
	index := r.index
	if index == 0 {
		index = r.mod
	}
	ext += fmt.Sprintf("TTL: %s\nIndex: {%d}\n", ttl, index)
	if r.action != "delete" {
		ext += "\n" + r.value + "\n"
	}
	js := fmt.Sprintf(`{"action":%q,"node":%s,"prevNode":%s}`+"\n", r.action, r.nodeJSON(), r.prev.nodeJSON())
	return [3]string{simple, ext, js}
}

// same is an output that does not depend on the format.
func same(s string) [3]string { return [3]string{s, s, s} }

// keyStep is one etcdctl command of the key-command table.
type keyStep struct {
	args   string     // after the global options; placeholders expanded, split on spaces
	result *keyResult // what it prints, or nil
	out    [3]string  // what it prints when result is nil (simple, extended, json)
	stderr string
	code   int
	sorted bool // the lines of stdout may come in any order
}

// keySteps exercise every key command and option once in order. Indexes are
// offsets from the index before the first step; {k} is the directory the
// steps work in. TTLs are an hour, longer than any run: an expiry would
// move the index under later steps.
func keySteps() []keyStep {
	a1 := &keyResult{action: "set", key: "{k}/a", value: "1", created: 1, mod: 1}
	a2 := &keyResult{action: "set", key: "{k}/a", value: "2", created: 2, mod: 2, prev: a1}
	a3 := &keyResult{action: "compareAndSwap", key: "{k}/a", value: "3", created: 2, mod: 3, prev: a2}
	a5 := &keyResult{action: "compareAndSwap", key: "{k}/a", value: "5", created: 2, mod: 4, prev: a3}
	bx := &keyResult{action: "create", key: "{k}/b", value: "x", created: 6, mod: 6}
	by := &keyResult{action: "update", key: "{k}/b", value: "y", created: 6, mod: 11, prev: bx}
	c17 := &keyResult{action: "set", key: "{k}/c", value: "v", created: 17, mod: 17}
	c19 := &keyResult{action: "set", key: "{k}/c", value: "v", created: 19, mod: 19}
	return []keyStep{
		{args: "set {k}/a 1", result: a1},
		{args: "set {k}/a 2", result: a2},
		{args: "set --swap-with-value 2 {k}/a 3", result: a3},
		{args: "set --swap-with-value 9 {k}/a 4", stderr: "Error:  101: Compare failed ([9 != 3]) [{3}]\n", code: 4},
		{args: "set {k}/a 5 --swap-with-index {3}", result: a5},
		{args: "set --swap-with-index 1 {k}/a 6", stderr: "Error:  101: Compare failed ([1 != {4}]) [{4}]\n", code: 4},
		{args: "set --swap-with-value 9 --swap-with-index 1 {k}/a 6", stderr: "Error:  101: Compare failed ([9 != 5] [1 != {4}]) [{4}]\n", code: 4},
		{args: "set --ttl 3600 {k}/t v", result: &keyResult{action: "set", key: "{k}/t", value: "v", created: 5, mod: 5, ttl: true}},
		{args: "get {k}/a", result: &keyResult{action: "get", key: "{k}/a", value: "5", created: 2, mod: 4, index: 5}},
		{args: "get --quorum {k}/a", result: &keyResult{action: "get", key: "{k}/a", value: "5", created: 2, mod: 4, index: 5}},
		{args: "get --sort {k}/t", result: &keyResult{action: "get", key: "{k}/t", value: "v", created: 5, mod: 5, ttl: true}},
		{args: "get {k}", stderr: "{k}: is a directory\n", code: 1},
		{args: "get {k}/missing", stderr: "Error:  100: Key not found ({k}/missing) [{5}]\n", code: 4},
		{args: "get {k}/a/b", stderr: "Error:  104: Not a directory ({k}/a) [{5}]\n", code: 4},
		{args: "mk {k}/b x", result: bx},
		{args: "mk {k}/b x", stderr: "Error:  105: Key already exists ({k}/b) [{6}]\n", code: 4},
		{args: "mk --in-order {k}/q j1", result: &keyResult{action: "create", key: "{k}/q/{7z}", value: "j1", created: 7, mod: 7}},
		{args: "mkdir {k}/d"},
		{args: "mkdir {k}/d", stderr: "Error:  105: Key already exists ({k}/d) [{8}]\n", code: 4},
		{args: "mkdir --ttl 3600 {k}/dt"},
		{args: "setdir {k}/d2"},
		{args: "setdir {k}/d2", stderr: "Error:  102: Not a file ({k}/d2) [{10}]\n", code: 4},
		{args: "update {k}/b y", result: by},
		{args: "update {k}/nob y", stderr: "Error:  100: Key not found ({k}/nob) [{11}]\n", code: 4},
		{args: "updatedir --ttl 3600 {k}/d2"},
		{args: "updatedir {k}/nod", stderr: "Error:  100: Key not found ({k}/nod) [{12}]\n", code: 4},
		{args: "rm {k}/d", stderr: "Error:  102: Not a file ({k}/d) [{12}]\n", code: 4},
		{args: "rm {k}/b", result: &keyResult{action: "delete", key: "{k}/b", created: 6, mod: 13, prev: by}},
		{args: "rm --dir {k}/d"},
		{args: "set {k}/r/x 1", result: &keyResult{action: "set", key: "{k}/r/x", value: "1", created: 15, mod: 15}},
		{args: "rm --dir {k}/r", stderr: "Error:  108: Directory not empty ({k}/r) [{15}]\n", code: 4},
		{args: "rmdir {k}/r", stderr: "Error:  108: Directory not empty ({k}/r) [{15}]\n", code: 4},
		{args: "rm --recursive {k}/r"},
		{args: "set {k}/c v", result: c17},
		{args: "rm --with-value w {k}/c", stderr: "Error:  101: Compare failed ([w != v]) [{17}]\n", code: 4},
		{args: "rm --with-index 1 {k}/c", stderr: "Error:  101: Compare failed ([1 != {17}]) [{17}]\n", code: 4},
		{args: "rm --with-value v {k}/c", result: &keyResult{action: "compareAndDelete", key: "{k}/c", created: 17, mod: 18, prev: c17}},
		{args: "set {k}/c v", result: c19},
		{args: "rm --with-index {19} {k}/c", result: &keyResult{action: "compareAndDelete", key: "{k}/c", created: 19, mod: 20, prev: c19}},
		{args: "rmdir {k}/d2"},
		{args: "rmdir {k}/a", result: &keyResult{action: "delete", key: "{k}/a", created: 2, mod: 22, prev: a5}},
		{args: "rmdir {k}/nothere", stderr: "Error:  100: Key not found ({k}/nothere) [{22}]\n", code: 4},
		{args: "set / x", stderr: "Error:  107: Root is read only (/) [{22}]\n", code: 4},
		// ls prints key names whatever the output format.
		{args: "ls --sort {k}", out: same("{k}/dt\n{k}/q\n{k}/t\n")},
		{args: "ls {k}", out: same("{k}/dt\n{k}/q\n{k}/t\n"), sorted: true},
		{args: "ls --sort -p {k}", out: same("{k}/dt/\n{k}/q/\n{k}/t\n")},
		{args: "ls --sort --recursive {k}", out: same("{k}/dt\n{k}/q\n{k}/q/{7z}\n{k}/t\n")},
		{args: "ls --recursive -p --sort --quorum {k}", out: same("{k}/dt/\n{k}/q/\n{k}/q/{7z}\n{k}/t\n")},
		{args: "ls {k}/t", out: same("{k}/t\n")},
		{args: "ls {k}/missing", stderr: "Error:  100: Key not found ({k}/missing) [{22}]\n", code: 4},
		// Watches from the event history: the first change after the
		// index, printed with the index the watch started at.
		{args: "watch --after-index {0} {k}/a", result: &keyResult{action: "set", key: "{k}/a", value: "1", created: 1, mod: 1, index: 22}},
		{args: "watch --after-index {4} {k}/a", result: &keyResult{action: "delete", key: "{k}/a", created: 2, mod: 22, prev: a5, index: 22}},
	}
}

// TestEtcdctlKeyCommands runs every key command with its options in the
// simple, extended and json formats against one member.
func TestEtcdctlKeyCommands(t *testing.T) {
	m := startSettled(t, "keys")
	for mode, format := range []string{"simple", "extended", "json"} {
		t.Run(format, func(t *testing.T) {
			x := tmpl{base: etcdIndex(t, m), vars: map[string]string{"k": "/" + format}}
			for _, s := range keySteps() {
				args := append([]string{"--endpoints", m.clientURL, "-o", format}, x.args(s.args)...)
				got := runCtl(t, nil, "", args...)
				want := s.out[mode]
				if s.result != nil {
					want = s.result.outputs()[mode]
				}
				if s.sorted {
					lines := strings.SplitAfter(got.stdout, "\n")
					slices.Sort(lines)
					got.stdout = strings.Join(lines, "")
				}
				x.check(t, "etcdctl -o "+format+" "+x.expand(s.args), got, want, s.stderr, s.code)
			}
			// A recursive watch prints "[action] key" first and skips the
			// directories made after index 7 (mkdir, setdir).
			got := runCtl(t, nil, "", "--endpoints", m.clientURL, "-o", format, "watch", "--recursive", "--after-index", x.expand("{7}"), "/"+format)
			upd := &keyResult{action: "update", key: "{k}/b", value: "y", created: 6, mod: 11, index: 22,
				prev: &keyResult{key: "{k}/b", value: "x", created: 6, mod: 6}}
			x.check(t, "watch --recursive", got, "[update] {k}/b\n"+upd.outputs()[mode], "", 0)
		})
	}
}

// formats are etcdctl's output formats, in the order of keyResult.outputs.
func formats() []string { return []string{"simple", "extended", "json"} }

// TestEtcdctlWatch follows live changes: the next change in each output
// format, --forever until Ctrl-C, and --recursive, which skips directories.
func TestEtcdctlWatch(t *testing.T) {
	m := startSettled(t, "watch")
	ep := []string{"--endpoints", m.clientURL}
	for mode, format := range formats() {
		t.Run(format, func(t *testing.T) {
			key := "/w/" + format
			x := tmpl{base: etcdIndex(t, m)}
			put(t, m, key[1:], "old")
			waitWatchers(t, m, 0)
			p := startCtl(t, append(ep, "-o", format, "watch", key)...)
			waitWatchers(t, m, 1)
			put(t, m, key[1:], "new")
			// The index printed is the one the watch started at.
			want := &keyResult{action: "set", key: key, value: "new", created: 2, mod: 2, index: 1,
				prev: &keyResult{key: key, value: "old", created: 1, mod: 1}}
			x.check(t, "watch "+key, p.wait(), want.outputs()[mode], "", 0)
		})
	}

	t.Run("forever", func(t *testing.T) {
		waitWatchers(t, m, 0) // the watches of earlier subtests are gone
		p := startCtl(t, append(ep, "watch", "--forever", "/wf")...)
		waitWatchers(t, m, 1)
		for _, v := range []string{"one", "two", "three"} {
			put(t, m, "wf", v)
		}
		p.waitStdout(3)
		// Ctrl-C ends it with exit code 0.
		tmpl{}.check(t, "watch --forever, then Ctrl-C", p.interrupt(), "one\ntwo\nthree\n", "", 0)
	})

	t.Run("recursive", func(t *testing.T) {
		waitWatchers(t, m, 0) // the watches of earlier subtests are gone
		p := startCtl(t, append(ep, "watch", "--forever", "--recursive", "/wr")...)
		waitWatchers(t, m, 1)
		httpDo(t, "PUT", m.clientURL+"/v2/keys/wr/d", "dir=true")
		put(t, m, "wr/d/x", "1")
		httpDo(t, "DELETE", m.clientURL+"/v2/keys/wr/d/x", "")
		put(t, m, "wr/y", "2")
		p.waitStdout(6)
		tmpl{}.check(t, "watch --forever --recursive", p.interrupt(),
			"[set] /wr/d/x\n1\n[delete] /wr/d/x\nPrevNode.Value: 1\n[set] /wr/y\n2\n", "", 0)
	})

	t.Run("expire", func(t *testing.T) {
		// An expired key, watched from the event history: the simple
		// format prints an empty line, the previous node keeps its
		// expiration but has no TTL left.
		x := tmpl{base: etcdIndex(t, m)}
		httpDo(t, "PUT", m.clientURL+"/v2/keys/exp", "value=v&ttl=1")
		waitHTTPStatus(t, m.clientURL+"/v2/keys/exp", 404)
		want := &keyResult{action: "expire", key: "/exp", created: 1, mod: 2,
			prev: &keyResult{key: "/exp", value: "v", created: 1, mod: 1, expired: true}}
		for mode, format := range formats() {
			got := runCtl(t, nil, "", append(ep, "-o", format, "watch", "--after-index", x.expand("{1}"), "/exp")...)
			x.check(t, "watch of an expired key, -o "+format, got, want.outputs()[mode], "", 0)
		}
	})

	t.Run("interrupted before any change", func(t *testing.T) {
		waitWatchers(t, m, 0) // the watches of earlier subtests are gone
		p := startCtl(t, append(ep, "watch", "/quiet")...)
		waitWatchers(t, m, 1)
		tmpl{}.check(t, "watch, then Ctrl-C", p.interrupt(), "", "", 0)
	})

	t.Run("member dies", func(t *testing.T) {
		// The connection of a watch waiting for its next change breaks:
		// etcdctl fails with exit code 4. (This ends the member.)
		waitWatchers(t, m, 0)
		p := startCtl(t, append(ep, "watch", "--forever", "/dies")...)
		waitWatchers(t, m, 1)
		put(t, m, "dies", "1")
		p.waitStdout(1)
		waitWatchers(t, m, 1) // the watch for the next change
		m.p.Kill()
		tmpl{}.check(t, "watch --forever, then the member dies", p.wait(), "1\n", unavailable("unexpected EOF"), 4)
	})
}

// TestEtcdctlExecWatch runs a shell command for each change and checks the
// ETCD_WATCH_* variables it sees.
func TestEtcdctlExecWatch(t *testing.T) {
	m := startSettled(t, "execwatch")
	ep := []string{"--endpoints", m.clientURL}
	const show = `printf '%s|%s|%s|%s\n' "$ETCD_WATCH_ACTION" "$ETCD_WATCH_KEY" "$ETCD_WATCH_VALUE" "$ETCD_WATCH_MODIFIED_INDEX"`
	// The commands run concurrently, so their lines may come in any order.
	sortedLines := func(r ctlResult) ctlResult {
		lines := strings.SplitAfter(r.stdout, "\n")
		slices.Sort(lines)
		r.stdout = strings.Join(lines, "")
		return r
	}

	t.Run("recursive", func(t *testing.T) {
		x := tmpl{base: etcdIndex(t, m)}
		waitWatchers(t, m, 0)
		p := startCtl(t, append(ep, "exec-watch", "--recursive", "/ew", "--", "/bin/sh", "-c", show)...)
		waitWatchers(t, m, 1)
		httpDo(t, "PUT", m.clientURL+"/v2/keys/ew/d", "dir=true")
		put(t, m, "ew/d/k", "a+b")
		put(t, m, "ew/k2", "v")
		httpDo(t, "DELETE", m.clientURL+"/v2/keys/ew/k2", "")
		p.waitStdout(3)
		x.check(t, "exec-watch --recursive", sortedLines(p.interrupt()),
			"delete|/ew/k2||{4}\nset|/ew/d/k|a b|{2}\nset|/ew/k2|v|{3}\n", "Ignored dir /ew/d change", 0)
	})

	t.Run("after-index, key last", func(t *testing.T) {
		// exec-watch <command> <key>, without "--"; --after-index N starts
		// at N+2, one later than watch does (as in etcdctl 2.3).
		script := filepath.Join(t.TempDir(), "show.sh")
		if err := os.WriteFile(script, []byte(show+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		x := tmpl{base: etcdIndex(t, m)}
		for _, v := range []string{"1", "2", "3"} {
			put(t, m, "ek", v)
		}
		p := startCtl(t, append(ep, "exec-watch", "--after-index", x.expand("{1}"), "/bin/sh", script, "/ek")...)
		p.waitStdout(1)
		put(t, m, "ek", "4")
		p.waitStdout(2)
		x.check(t, "exec-watch --after-index", sortedLines(p.interrupt()), "set|/ek|3|{3}\nset|/ek|4|{4}\n", "", 0)

		// A command that cannot be started ends exec-watch with exit code 1.
		got := runCtl(t, nil, "", append(ep, "exec-watch", "--after-index", x.expand("{1}"), "/ek", "--", "/nonexistent/command")...)
		x.check(t, "exec-watch of a missing command", got, "", "fork/exec /nonexistent/command: no such file or directory", 1)
	})
}

// closedURL returns a client URL on which nothing listens.
func closedURL(t *testing.T) string {
	return "http://127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
}

// refused is the error etcdctl reports for an endpoint nothing listens on.
func refused(url string) string {
	return "dial tcp " + strings.TrimPrefix(url, "http://") + ": connect: connection refused"
}

// unavailable is etcdctl's error when every endpoint failed, one detail
// line per endpoint.
func unavailable(details ...string) string {
	s := "Error:  client: etcd cluster is unavailable or misconfigured\n"
	for i, d := range details {
		s += fmt.Sprintf("error #%d: %s\n", i, d)
	}
	return s + "\n"
}

// TestEtcdctlSyncAndEnvironment uses a member that advertises a client URL
// nothing listens on: etcdctl's sync switches to that URL and fails, while
// --no-sync keeps the given endpoint. It also covers --debug, the
// ETCDCTL_* endpoint variables and their precedence, values read from
// stdin, and an unknown output format.
func TestEtcdctlSyncAndEnvironment(t *testing.T) {
	m := newMember(t, "sync")
	dead := closedURL(t)
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, append([]string{
		"--name", m.name, "--data-dir", m.dataDir,
		"--listen-client-urls", m.clientURL, "--advertise-client-urls", dead,
		"--listen-peer-urls", m.peerURL, "--initial-advertise-peer-urls", m.peerURL,
		"--initial-cluster", m.name + "=" + m.peerURL,
	}, fastElection()...)...)
	waitReady(t, m)
	waitSettled(t, m.clientURL, http.DefaultClient)
	put(t, m, "k", "v")
	x := tmpl{vars: map[string]string{"live": m.clientURL, "dead": dead}}
	cases := []struct {
		name   string
		env    []string
		stdin  string
		args   string
		stdout string
		stderr string
		code   int
	}{
		{name: "sync to the advertised URL", args: "--endpoints {live} get /k",
			stderr: unavailable(refused(dead)), code: 4},
		{name: "no sync", args: "--endpoints {live} --no-sync get /k", stdout: "v\n"},
		{name: "debug with sync", args: "--debug --endpoints {live} get /k",
			stderr: "start to sync cluster using endpoints({live})\n" +
				"cURL Command: curl -X GET {live}/v2/members\n" +
				"got endpoints({dead}) after sync\n" +
				"Cluster-Endpoints: {dead}\n" +
				"cURL Command: curl -X GET {dead}/v2/keys/k?quorum=false&recursive=false&sorted=false\n" +
				unavailable(refused(dead)), code: 4},
		{name: "debug without sync", args: "--debug --no-sync --endpoints {live} set --ttl 50 /dbg a&b",
			stdout: "a&b\n",
			stderr: "Cluster-Endpoints: {live}\n" +
				`cURL Command: curl -X PUT {live}/v2/keys/dbg -d "ttl=50&value=a%26b"` + "\n"},
		{name: "debug of a compare-and-delete", args: "--debug --no-sync --endpoints {live} rm --with-value a&b --with-index 0 /dbg",
			stdout: "\n",
			stderr: "Cluster-Endpoints: {live}\n" +
				"cURL Command: curl -X DELETE {live}/v2/keys/dbg?prevValue=a%26b\n"},
		{name: "ETCDCTL_ENDPOINTS", env: []string{"ETCDCTL_ENDPOINTS={live}"}, args: "--no-sync get /k", stdout: "v\n"},
		{name: "ETCDCTL_ENDPOINT", env: []string{"ETCDCTL_ENDPOINT={live}"}, args: "--no-sync get /k", stdout: "v\n"},
		{name: "ETCDCTL_PEERS", env: []string{"ETCDCTL_PEERS={live}"}, args: "--no-sync get /k", stdout: "v\n"},
		{name: "--endpoint", args: "--endpoint {live} --no-sync get /k", stdout: "v\n"},
		{name: "--peers", args: "--peers {live} --no-sync get /k", stdout: "v\n"},
		{name: "-C", args: "-C {live} --no-sync get /k", stdout: "v\n"},
		{name: "--endpoints beats ETCDCTL_ENDPOINTS", env: []string{"ETCDCTL_ENDPOINTS={dead}"},
			args: "--endpoints {live} --no-sync get /k", stdout: "v\n"},
		{name: "ETCDCTL_ENDPOINTS beats --endpoint", env: []string{"ETCDCTL_ENDPOINTS={live}"},
			args: "--endpoint {dead} --no-sync get /k", stdout: "v\n"},
		{name: "--endpoint beats ETCDCTL_ENDPOINT", env: []string{"ETCDCTL_ENDPOINT={dead}"},
			args: "--endpoint {live} --no-sync get /k", stdout: "v\n"},
		{name: "ETCDCTL_ENDPOINT beats --peers", env: []string{"ETCDCTL_ENDPOINT={live}"},
			args: "--peers {dead} --no-sync get /k", stdout: "v\n"},
		{name: "--peers beats ETCDCTL_PEERS", env: []string{"ETCDCTL_PEERS={dead}"},
			args: "--peers {live} --no-sync get /k", stdout: "v\n"},
		{name: "value from stdin", stdin: "from stdin\n", args: "--endpoints {live} --no-sync set /in",
			stdout: "from stdin\n\n"},
		{name: "value from stdin, mk", stdin: "made", args: "--endpoints {live} --no-sync mk /in2", stdout: "made\n"},
		{name: "value from stdin, update", stdin: "two\nlines\n", args: "--endpoints {live} --no-sync update /in2",
			stdout: "two\nlines\n\n"},
		{name: "empty stdin", args: "--endpoints {live} --no-sync set /in3", stderr: "Error:  value required\n", code: 1},
		{name: "value that starts with a dash", args: "--endpoints {live} --no-sync set -- /neg -v", stdout: "-v\n"},
		{name: "--output", args: "--endpoints {live} --no-sync --output json get /k",
			stdout: `{"action":"get","node":{"key":"/k","value":"v","nodes":null,"createdIndex":{INDEX},"modifiedIndex":{INDEX}},"prevNode":null}` + "\n"},
		// The server has no users: it ignores the credentials.
		{name: "--username with a password", args: "--endpoints {live} --no-sync --username root:secret get /k", stdout: "v\n"},
		{name: "--username, password from stdin, then the value", stdin: "secret\nvalue",
			args: "--endpoints {live} --no-sync -u root set /pw", stdout: "Password: \nvalue\n"},
		{name: "unknown output format", args: "--endpoints {live} --no-sync -o yaml set /fmt v",
			stderr: "Unsupported output format: yaml\n"},
	}
	for _, c := range cases {
		var env []string
		for _, e := range c.env {
			env = append(env, x.expand(e))
		}
		got := runCtl(t, env, c.stdin, x.args(c.args)...)
		x.check(t, c.name+": "+strings.Join(env, " ")+" etcdctl "+x.expand(c.args), got, c.stdout, c.stderr, c.code)
	}
	// Keys with characters that URLs escape.
	for i, key := range []string{"/odd/sp ace", "/odd/q?x", "/odd/h#x", "/odd/pct%41", "/odd/ü"} {
		got := runCtl(t, nil, "", "--endpoints", m.clientURL, "--no-sync", "-o", "json", "set", key, strconv.Itoa(i))
		x.check(t, "set "+key, got, fmt.Sprintf(`{"action":"set","node":{"key":%q,"value":"%d","nodes":null,"createdIndex":{INDEX},"modifiedIndex":{INDEX}},"prevNode":null}`+"\n", key, i), "", 0)
		got = runCtl(t, nil, "", "--endpoints", m.clientURL, "--no-sync", "get", key)
		x.check(t, "get "+key, got, strconv.Itoa(i)+"\n", "", 0)
	}
	got := runCtl(t, nil, "", "--endpoints", m.clientURL, "--no-sync", "ls", "--sort", "/odd")
	x.check(t, "ls of keys with odd characters", got, "/odd/h#x\n/odd/pct%41\n/odd/q?x\n/odd/sp ace\n/odd/ü\n", "", 0)
	got = runCtl(t, nil, "", "--endpoints", m.clientURL, "--no-sync", "--debug", "rm", "/odd/q?x")
	x.check(t, "rm --debug of a key with a question mark", got, "PrevNode.Value: 1\n",
		"Cluster-Endpoints: {live}\ncURL Command: curl -X DELETE {live}/v2/keys/odd/q%3Fx\n", 0)

	// What was written from stdin is stored as it was read, newlines
	// included, and the run with an unknown format did its write.
	for key, want := range map[string]string{"in": "from stdin\n", "in2": "two\nlines\n", "neg": "-v", "fmt": "v"} {
		if code, n := quorumGet(t, m, key); code != 200 || n.Value != want {
			t.Errorf("/%s: %d %q, want %q", key, code, n.Value, want)
		}
	}
}

// TestEtcdctlBadInput gives etcdctl wrong commands, options and arguments,
// and endpoints it cannot use: each gets a short error and its exit code,
// never a stack trace.
func TestEtcdctlBadInput(t *testing.T) {
	m := startSettled(t, "badinput")
	dead, dead2 := closedURL(t), closedURL(t)
	x := tmpl{vars: map[string]string{"live": m.clientURL, "dead": dead, "dead2": dead2}}
	missingFile := filepath.Join(t.TempDir(), "missing.pem")
	x.vars["missing"] = missingFile
	cases := []struct {
		args   string
		stdout string
		stderr string
		code   int
	}{
		{args: "nosuch", stderr: "Error:  unknown command \"nosuch\" (see 'etcdctl --help')\n", code: 1},
		{args: "member nosuch", stderr: "Error:  unknown command \"nosuch\" (see 'etcdctl member --help')\n", code: 1},
		{args: "--nosuch get /k", stderr: "Error:  flag provided but not defined: -nosuch (see 'etcdctl --help')\n", code: 1},
		{args: "--endpoints {live} get --nosuch /k", stderr: "Error:  flag provided but not defined: -nosuch (see 'etcdctl get --help')\n", code: 1},
		{args: "--endpoints {live} member add --nosuch a b", stderr: "Error:  flag provided but not defined: -nosuch (see 'etcdctl member add --help')\n", code: 1},
		{args: "--endpoints {live} set --ttl abc /k v", stderr: "Error:  invalid value \"abc\" for flag -ttl: parse error (see 'etcdctl set --help')\n", code: 1},
		{args: "--timeout soon get /k", stderr: "Error:  invalid value \"soon\" for flag -timeout: parse error (see 'etcdctl --help')\n", code: 1},
		// Missing arguments.
		{args: "--endpoints {live} get", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} set", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} set /k", stderr: "Error:  value required\n", code: 1},
		{args: "--endpoints {live} mk", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} mk /k", stderr: "Error:  value required\n", code: 1},
		{args: "--endpoints {live} mkdir", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} setdir", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} update", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} update /k", stderr: "Error:  value required\n", code: 1},
		{args: "--endpoints {live} updatedir", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} rm", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} rmdir", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} watch", stderr: "Error:  key required\n", code: 1},
		{args: "--endpoints {live} exec-watch", stderr: "Error:  key and command to exec required\n", code: 1},
		{args: "--endpoints {live} exec-watch /k", stderr: "Error:  key and command to exec required\n", code: 1},
		{args: "--endpoints {live} exec-watch /k --", stderr: "Error:  key and command to exec required\n", code: 1},
		{args: "--endpoints {live} member list extra", stderr: "No arguments accepted\n", code: 1},
		{args: "--endpoints {live} member add name", stderr: "Provide a name and a single member peerURL\n", code: 1},
		{args: "--endpoints {live} member remove", stderr: "Provide a single member ID\n", code: 1},
		{args: "--endpoints {live} member update 1234", stderr: "Provide an ID and a list of comma separated peerURL (0xabcd http://example.com,http://example1.com)\n", code: 1},
		// Endpoints that cannot be reached: exit code 2 when the sync
		// fails, 4 when the command itself does.
		{args: "--endpoints {dead} get /k", stderr: unavailable(refused(dead)), code: 2},
		{args: "--endpoints {dead} --no-sync get /k", stderr: unavailable(refused(dead)), code: 4},
		{args: "--endpoints {dead} --no-sync watch /k", stderr: unavailable(refused(dead)), code: 4},
		{args: "--endpoints {dead} member list", stderr: unavailable(refused(dead)), code: 2},
		{args: "--endpoints {dead} --no-sync member list", stderr: "client: etcd cluster is unavailable or misconfigured\n", code: 1},
		{args: "--endpoints {dead} --no-sync member add a http://127.0.0.1:1", stderr: "client: etcd cluster is unavailable or misconfigured\n", code: 1},
		{args: "--endpoints {dead} --no-sync member remove 1234", stderr: "Error while verifying ID against known members: client: etcd cluster is unavailable or misconfigured\n", code: 1},
		// A --total-timeout too short to connect: the sync runs out of
		// time, and the fallback to etcd 0.4's peers API dials with the
		// same timeout and fails to connect.
		{args: "--endpoints {live} --total-timeout 1ns get /k", stderr: "Error:  dial tcp " + strings.TrimPrefix(m.clientURL, "http://") + ": i/o timeout\n", code: 2},
		{args: "--endpoints {dead} cluster-health", stdout: "cluster may be unhealthy: failed to list members\n", stderr: unavailable(refused(dead)), code: 4},
		// Endpoints and files etcdctl cannot even set up a client with.
		{args: "--endpoints http://[::1 get /k", stderr: "parse \"http://[::1\": missing ']' in host\n", code: 1},
		{args: "--endpoints 127.0.0.1:2379 get /k", stderr: "parse \"127.0.0.1:2379\": first path segment in URL cannot contain colon\n", code: 1},
		{args: "--endpoints {live} --ca-file {missing} get /k", stderr: "open {missing}: no such file or directory\n", code: 1},
		{args: "--endpoints {live} --cert-file {missing} get /k", stderr: "KeyFile and CertFile must both be present[key: , cert: {missing}]\n", code: 1},
		{args: "--endpoints {live} --cert-file {missing} --key-file {missing} get /k", stderr: "open {missing}: no such file or directory\n", code: 1},
		{args: "--version", stdout: etcdctlVersion},
		{args: "-v", stdout: etcdctlVersion},
	}
	for _, c := range cases {
		got := runCtl(t, nil, "", x.args(c.args)...)
		x.check(t, "etcdctl "+x.expand(c.args), got, c.stdout, c.stderr, c.code)
	}

	// With two unreachable endpoints, tried in a random order, there is
	// one detail line for each.
	got := runCtl(t, nil, "", "--endpoints", dead+","+dead2, "get", "/k")
	if !x.match(unavailable(refused(dead), refused(dead2)), got.stderr) && !x.match(unavailable(refused(dead2), refused(dead)), got.stderr) || got.code != 2 {
		t.Errorf("two unreachable endpoints: %v", got)
	}
	noStackTrace(t, "two unreachable endpoints", got)
}

// TestEtcdctlHelp checks that the help of etcdctl names every command and
// global option, and the help of each command every one of its options.
func TestEtcdctlHelp(t *testing.T) {
	help := map[string][]string{
		"":               {"--debug", "--no-sync", "--output, -o", "--discovery-srv, -D", "--peers, -C", "--endpoint ", "--endpoints", "--cert-file", "--key-file", "--ca-file", "--username, -u", "--timeout", "--total-timeout", "--help, -h", "--version, -v", "cluster-health", "mkdir", "rmdir", "setdir", "updatedir", "exec-watch", "member", "check"},
		"set":            {"--ttl", "--swap-with-value", "--swap-with-index"},
		"get":            {"--sort", "--quorum"},
		"mk":             {"--ttl", "--in-order"},
		"mkdir":          {"--ttl"},
		"setdir":         {"--ttl"},
		"update":         {"--ttl"},
		"updatedir":      {"--ttl"},
		"rm":             {"--dir", "--recursive", "--with-value", "--with-index"},
		"rmdir":          {"--help"},
		"ls":             {"--sort", "--recursive", "-p", "--quorum"},
		"watch":          {"--forever", "--after-index", "--recursive"},
		"exec-watch":     {"--after-index", "--recursive"},
		"cluster-health": {"--forever"},
		"member":         {"list", "add", "remove", "update"},
		"check perf":     {"--load", "--clients", "--rate", "--size", "--total", "--duration", "--prefix"},
	}
	for cmd, words := range help {
		forms := [][]string{append(strings.Fields(cmd), "--help")}
		if cmd == "" || cmd == "member" || cmd == "check perf" {
			forms = append(forms, append([]string{"help"}, strings.Fields(cmd)...))
		}
		for _, args := range forms {
			got := runCtl(t, nil, "", args...)
			if got.code != 0 || got.stderr != "" {
				t.Errorf("etcdctl %s: %v", strings.Join(args, " "), got)
			}
			for _, w := range words {
				if !strings.Contains(got.stdout, "   "+w) {
					t.Errorf("etcdctl %s does not list %s:\n%s", strings.Join(args, " "), w, got.stdout)
				}
			}
		}
	}
}

// memberInfo is one member as GET /v2/members lists it.
type memberInfo struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

// membersOf returns the members as m lists them (sorted by ID) and the
// leader's ID.
func membersOf(t *testing.T, m *member) ([]memberInfo, string) {
	t.Helper()
	var ml struct{ Members []memberInfo }
	var leader memberInfo
	if !getJSON(http.DefaultClient, m.clientURL+"/v2/members", &ml) || !getJSON(http.DefaultClient, m.clientURL+"/v2/members/leader", &leader) {
		t.Fatalf("%s: cannot list the members and the leader", m.name)
	}
	return ml.Members, leader.ID
}

// memberListOutput is what etcdctl member list prints for the members
// that m lists.
func memberListOutput(t *testing.T, m *member) string {
	t.Helper()
	members, leader := membersOf(t, m)
	var b strings.Builder
	for _, mi := range members {
		if mi.Name == "" {
			fmt.Fprintf(&b, "%s[unstarted]: peerURLs=%s\n", mi.ID, strings.Join(mi.PeerURLs, ","))
			continue
		}
		fmt.Fprintf(&b, "%s: name=%s peerURLs=%s clientURLs=%s isLeader=%v\n",
			mi.ID, mi.Name, strings.Join(mi.PeerURLs, ","), strings.Join(mi.ClientURLs, ","), mi.ID == leader)
	}
	return b.String()
}

// waitHTTPStatus waits until url answers with the given status.
func waitHTTPStatus(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := httpGetQuiet(url)
		if code == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answers %d %s, not %d, after 30 s", url, code, body, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEtcdctlCluster runs the member commands and cluster-health against a
// 3-member cluster, then takes the members down one by one: cluster-health
// with one member down, failover from an endpoint that is down, a member
// whose peers are all down (requests time out, cluster-health fails), and
// a cluster that is all down.
func TestEtcdctlCluster(t *testing.T) {
	c := newCluster(t, 3)
	c.start()
	first := c.members[0]
	waitSettled(t, first.clientURL, http.DefaultClient)
	ids := memberIDs(t, first)
	x := tmpl{vars: map[string]string{"ep": first.clientURL, "id1": ids["infra1"], "id2": ids["infra2"], "peer1": first.peerURL}}
	run := func(args string) ctlResult {
		t.Helper()
		return runCtl(t, nil, "", x.args(args)...)
	}

	t.Run("member list", func(t *testing.T) {
		want := memberListOutput(t, first)
		if strings.Count(want, "isLeader=true") != 1 || strings.Count(want, "name=infra") != 3 {
			t.Fatalf("the cluster is not three members with one leader:\n%s", want)
		}
		x.check(t, "member list", run("--endpoints {ep} member list"), want, "", 0)
	})

	t.Run("member add, update, remove", func(t *testing.T) {
		newPeer, newPeer2 := closedURL(t), closedURL(t)
		x.vars["new"], x.vars["new2"] = newPeer, newPeer2
		got := run("--endpoints {ep} member add infra4 {new}")
		id, _, _ := strings.Cut(strings.TrimPrefix(got.stdout, "Added member named infra4 with ID "), " ")
		x.vars["id4"] = id
		var initial []string
		members, _ := membersOf(t, first)
		for _, mi := range members {
			name := mi.Name
			if mi.ID == id {
				name = "infra4"
			}
			initial = append(initial, name+"="+mi.PeerURLs[0])
		}
		x.vars["initial"] = strings.Join(initial, ",")
		x.check(t, "member add", got, "Added member named infra4 with ID {id4} to cluster\n\n"+
			"ETCD_NAME=\"infra4\"\nETCD_INITIAL_CLUSTER=\"{initial}\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n", "", 0)

		list := memberListOutput(t, first)
		if !strings.Contains(list, x.expand("{id4}[unstarted]: peerURLs={new}\n")) {
			t.Errorf("the new member is not listed as unstarted:\n%s", list)
		}
		x.check(t, "member list with an unstarted member", run("--endpoints {ep} member list"), list, "", 0)

		x.check(t, "member update", run("--endpoints {ep} member update {id4} {new2}"), "Updated member with ID {id4} in cluster\n", "", 0)
		x.check(t, "member list after update", run("--endpoints {ep} member list"), memberListOutput(t, first), "", 0)
		if !strings.Contains(memberListOutput(t, first), x.expand("{id4}[unstarted]: peerURLs={new2}\n")) {
			t.Errorf("the update did not change the peer URL")
		}

		errs := []struct{ args, stderr string }{
			{"member add infra5 {peer1}", "etcdserver: peerURL exists\n"},
			{"member add infra5 notaurl", "URL scheme must be http or https: notaurl\n"},
			{"member add infra5 http://127.0.0.1:1/path", "URL must not contain a path: http://127.0.0.1:1/path\n"},
			{"member add infra5 http://127.0.0.1", "URL address does not have the form \"host:port\": http://127.0.0.1\n"},
			{"member update {id4} {peer1}", "etcdserver: peerURL exists\n"},
			{"member update 1234 http://127.0.0.1:1", "No such member: 1234\n"},
			{"member remove nosuch", "Couldn't find a member in the cluster with an ID of nosuch.\n"},
			{"member remove infra2", "Found a member named infra2; if this is correct, please use its ID, eg:\n" +
				"\tetcdctl member remove {id2}\n" +
				"For more details, read the documentation at https://github.com/coreos/etcd/blob/master/Documentation/runtime-configuration.md#remove-a-member\n\n" +
				"Couldn't find a member in the cluster with an ID of infra2.\n"},
		}
		for _, e := range errs {
			x.check(t, x.expand(e.args), run("--endpoints {ep} "+e.args), "", e.stderr, 1)
		}

		x.check(t, "member remove", run("--endpoints {ep} member remove {id4}"), "Removed member {id4} from cluster\n", "", 0)
		x.check(t, "member remove again", run("--endpoints {ep} member remove {id4}"), "", "Couldn't find a member in the cluster with an ID of {id4}.\n", 1)
		x.check(t, "member list after remove", run("--endpoints {ep} member list"), memberListOutput(t, first), "", 0)
		if n := strings.Count(memberListOutput(t, first), "\n"); n != 3 {
			t.Errorf("%d members after the remove, want 3", n)
		}
	})

	// healthOutput is what cluster-health prints when the members in down
	// cannot be reached and the others answer healthy (or not).
	members, _ := membersOf(t, first)
	healthOutput := func(healthy bool, down ...string) string {
		var b strings.Builder
		for _, mi := range members {
			u := mi.ClientURLs[0]
			switch {
			case slices.Contains(down, mi.Name):
				fmt.Fprintf(&b, "failed to check the health of member %s on %s: Get %q: %s\n", mi.ID, u, u+"/health", refused(u))
				fmt.Fprintf(&b, "member %s is unreachable: [%s] are all unreachable\n", mi.ID, u)
			case healthy:
				fmt.Fprintf(&b, "member %s is healthy: got healthy result from %s\n", mi.ID, u)
			default:
				fmt.Fprintf(&b, "member %s is unhealthy: got unhealthy result from %s\n", mi.ID, u)
			}
		}
		if healthy {
			return b.String() + "cluster is healthy\n"
		}
		return b.String() + "cluster is unhealthy\n"
	}

	t.Run("cluster-health", func(t *testing.T) {
		x.check(t, "cluster-health", run("--endpoints {ep} cluster-health"), healthOutput(true), "", 0)
		// --forever checks again every 10 s until Ctrl-C, which ends it
		// with exit code 0.
		p := startCtl(t, "--endpoints", first.clientURL, "cluster-health", "--forever")
		p.waitStdout(7)
		x.check(t, "cluster-health --forever, then Ctrl-C", p.interrupt(), healthOutput(true)+"\nnext check after 10 second...\n\n", "", 0)
	})

	// Take down a follower; the leader and the other follower go on.
	lead := c.leader(all(3)...)
	down1, survivor := (lead+1)%3, (lead+2)%3
	c.members[down1].p.Kill()
	x.vars["down"] = c.members[down1].clientURL
	x.vars["lead"] = c.members[lead].clientURL
	x.vars["survivor"] = c.members[survivor].clientURL
	for _, i := range []int{lead, survivor} {
		waitHTTPStatus(t, c.members[i].clientURL+"/health", 200)
	}

	t.Run("cluster-health with a member down", func(t *testing.T) {
		x.check(t, "cluster-health", run("--endpoints {survivor} cluster-health"), healthOutput(true, c.members[down1].name), "", 0)
	})

	t.Run("failover", func(t *testing.T) {
		put(t, c.members[lead], "fo", "v")
		// The endpoints are tried in a random order, starting over at the
		// first for each run: whichever comes first, the answer is the
		// live member's, and the down one is tried first only at times.
		downFirst := 0
		for i := 0; i < 8; i++ {
			got := run("--debug --no-sync --endpoints {down},{survivor} get /fo")
			want := "Cluster-Endpoints: {survivor}, {down}\ncURL Command: curl -X GET {survivor}/v2/keys/fo?quorum=false&recursive=false&sorted=false\n"
			if strings.HasPrefix(got.stderr, x.expand("Cluster-Endpoints: {down}")) {
				downFirst++
				want = "Cluster-Endpoints: {down}, {survivor}\n" +
					"cURL Command: curl -X GET {down}/v2/keys/fo?quorum=false&recursive=false&sorted=false\n" +
					"cURL Command: curl -X GET {survivor}/v2/keys/fo?quorum=false&recursive=false&sorted=false\n"
			}
			x.check(t, "get through a down and a live endpoint", got, "v\n", want, 0)
		}
		t.Logf("the down endpoint came first in %d of 8 runs", downFirst)
		// With the sync, the down member is also among the endpoints the
		// member list gives.
		x.check(t, "set with sync", run("--endpoints {down},{survivor} set /fo w"), "w\n", "", 0)
		got := runCtl(t, []string{x.expand("ETCDCTL_ENDPOINTS={down},{lead}")}, "", "--no-sync", "get", "/fo")
		x.check(t, "ETCDCTL_ENDPOINTS with a down endpoint", got, "w\n", "", 0)
	})

	// Take down the leader too: the survivor has no quorum and, once it
	// has no leader, answers /health with 503.
	c.members[lead].p.Kill()
	waitHTTPStatus(t, x.vars["survivor"]+"/v2/members/leader", 503)
	waitHTTPStatus(t, x.vars["survivor"]+"/health", 503)

	t.Run("member without quorum", func(t *testing.T) {
		x.check(t, "cluster-health", run("--endpoints {survivor} cluster-health"),
			healthOutput(false, c.members[down1].name, c.members[lead].name), "", 5)
		// A write waits for a quorum that never comes: --timeout (1 s)
		// ends the wait for the response headers...
		headerTimeout := unavailable("client: endpoint {survivor} exceeded header timeout")
		x.check(t, "set", run("--no-sync --endpoints {survivor} set /x v"), "", headerTimeout, 4)
		x.check(t, "get --quorum", run("--no-sync --endpoints {survivor} get --quorum /fo"), "", headerTimeout, 4)
		// ...unless --total-timeout ends the command first.
		x.check(t, "set with --total-timeout", run("--no-sync --endpoints {survivor} --timeout 10s --total-timeout 1500ms set /x v"),
			"", "Error:  context deadline exceeded\n", 4)
		// A plain read is served from the member's own copy.
		x.check(t, "get", run("--no-sync --endpoints {survivor} get /fo"), "w\n", "", 0)
		// The member list works without a leader; the leader lookup does not.
		x.check(t, "member list", run("--endpoints {survivor} member list"), "",
			"Failed to get leader:  client: etcd cluster is unavailable or misconfigured\n", 1)
		// Membership changes need a quorum too; member commands print the
		// bare error (and remove no newline after it).
		x.vars["downid"] = ids[c.members[down1].name]
		x.check(t, "member add", run("--no-sync --endpoints {survivor} --timeout 300ms member add infra4 http://127.0.0.1:9"), "",
			"client: etcd cluster is unavailable or misconfigured\n", 1)
		x.check(t, "member remove", run("--no-sync --endpoints {survivor} --timeout 300ms member remove {downid}"), "",
			"Received an error trying to remove member {downid}: client: etcd cluster is unavailable or misconfigured", 1)
		x.check(t, "member update", run("--no-sync --endpoints {survivor} --timeout 300ms member update {downid} http://127.0.0.1:9"), "",
			"client: etcd cluster is unavailable or misconfigured\n", 1)
	})

	c.members[survivor].p.Kill()

	t.Run("all down", func(t *testing.T) {
		x.check(t, "cluster-health", run("--endpoints {survivor} cluster-health"),
			"cluster may be unhealthy: failed to list members\n", unavailable(refused(x.vars["survivor"])), 4)
		x.check(t, "get", run("--endpoints {survivor} get /fo"), "", unavailable(refused(x.vars["survivor"])), 2)
		x.check(t, "get --no-sync", run("--endpoints {survivor} --no-sync get /fo"), "", unavailable(refused(x.vars["survivor"])), 4)
	})
}

// TestEtcdctlTLS talks to a member that serves clients over https and
// requires client certificates signed by its CA: with the right files
// (options or ETCDCTL_* variables) every kind of command works; with a
// missing or wrong certificate etcdctl fails with a one-line error.
func TestEtcdctlTLS(t *testing.T) {
	pki := newTestPKI(t)
	serverCert, serverKey := pki.issue(t, "server")
	clientCert, clientKey := pki.issue(t, "client")
	other := newTestPKI(t)
	strangerCert, strangerKey := other.issue(t, "stranger")
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	m := newMember(t, "tls")
	m.clientURL = strings.Replace(m.clientURL, "http://", "https://", 1)
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(m.name+"="+m.peerURL, append([]string{
		"--cert-file", serverCert, "--key-file", serverKey,
		"--trusted-ca-file", pki.caFile, "--client-cert-auth"}, fastElection()...)...)...)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.clientTLS(t, clientCert, clientKey)}}
	waitSettled(t, m.clientURL, hc)
	var ml struct{ Members []memberInfo }
	getJSON(hc, m.clientURL+"/v2/members", &ml)

	x := tmpl{vars: map[string]string{
		"ep": m.clientURL, "plain": strings.Replace(m.clientURL, "https://", "http://", 1),
		"ca": pki.caFile, "cert": clientCert, "key": clientKey, "otherca": other.caFile,
		"scert": strangerCert, "skey": strangerKey, "garbage": garbage, "id": ml.Members[0].ID, "peer": m.peerURL,
	}}
	files := "--ca-file {ca} --cert-file {cert} --key-file {key}"
	cases := []struct {
		env    []string
		args   string
		stdout string
		stderr string
		code   int
	}{
		{args: "--endpoints {ep} " + files + " set /secure yes", stdout: "yes\n"},
		{args: "--endpoints {ep} " + files + " -o json get /secure", stdout: `{"action":"get","node":{"key":"/secure","value":"yes","nodes":null,"createdIndex":{INDEX},"modifiedIndex":{INDEX}},"prevNode":null}` + "\n"},
		{args: "--endpoints {ep} " + files + " ls", stdout: "/secure\n"},
		{args: "--endpoints {ep} " + files + " member list", stdout: "{id}: name=tls peerURLs={peer} clientURLs={ep} isLeader=true\n"},
		{args: "--endpoints {ep} " + files + " cluster-health", stdout: "member {id} is healthy: got healthy result from {ep}\ncluster is healthy\n"},
		{args: "--endpoints {ep} " + files + " watch --after-index 1 /secure", stdout: "yes\n"},
		{env: []string{"ETCDCTL_ENDPOINTS={ep}", "ETCDCTL_CA_FILE={ca}", "ETCDCTL_CERT_FILE={cert}", "ETCDCTL_KEY_FILE={key}"},
			args: "get /secure", stdout: "yes\n"},
		{env: []string{"ETCDCTL_CA_FILE={otherca}", "ETCDCTL_CERT_FILE={scert}", "ETCDCTL_KEY_FILE={skey}"},
			args: "--endpoints {ep} " + files + " get /secure", stdout: "yes\n"},
		// Failures during the sync: the error of the TLS handshake alone.
		{args: "--endpoints {ep} --ca-file {ca} get /secure", stderr: "Error:  {PEEK}remote error: tls: certificate required\n", code: 4},
		{args: "--endpoints {ep} --cert-file {cert} --key-file {key} get /secure",
			stderr: "Error:  tls: failed to verify certificate: x509: certificate signed by unknown authority\n", code: 4},
		// The two test CAs have the same name: the client takes the other
		// CA for the server's and the server takes it for the client's.
		{args: "--endpoints {ep} --ca-file {otherca} --cert-file {cert} --key-file {key} get /secure",
			stderr: "Error:  tls: failed to verify certificate: x509: certificate signed by unknown authority " +
				"(possibly because of \"x509: ECDSA verification failure\" while trying to verify candidate authority certificate \"v2etcd test CA\")\n", code: 4},
		{args: "--endpoints {ep} --ca-file {ca} --cert-file {scert} --key-file {skey} get /secure",
			stderr: "Error:  {PEEK}remote error: tls: unknown certificate authority\n", code: 4},
		// Files that do not make a client certificate.
		{args: "--endpoints {ep} --ca-file {ca} --cert-file {cert} --key-file {skey} get /secure",
			stderr: "tls: private key does not match public key\n", code: 1},
		{args: "--endpoints {ep} --ca-file {ca} --cert-file {garbage} --key-file {key} get /secure",
			stderr: "tls: failed to find any PEM data in certificate input\n", code: 1},
		// Without the sync, the cluster error.
		{args: "--endpoints {ep} --no-sync --ca-file {ca} get /secure",
			stderr: unavailable("{PEEK}remote error: tls: certificate required"), code: 4},
		{args: "--endpoints {ep} --ca-file {ca} cluster-health", stdout: "cluster may be unhealthy: failed to list members\n",
			stderr: unavailable("{PEEK}remote error: tls: certificate required"), code: 4},
		// Plain HTTP to the TLS port gets an answer that is not etcd's.
		{args: "--endpoints {plain} --no-sync get /secure",
			stderr: "Error:  client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint.\n", code: 4},
	}
	for _, c := range cases {
		var env []string
		for _, e := range c.env {
			env = append(env, x.expand(e))
		}
		got := runCtl(t, env, "", x.args(c.args)...)
		x.check(t, strings.Join(env, " ")+" etcdctl "+x.expand(c.args), got, c.stdout, c.stderr, c.code)
	}
}

// TestEtcdctlCheckPerf runs a short check perf: it prints its figures and
// a verdict that agrees with its exit code, and removes its keys.
func TestEtcdctlCheckPerf(t *testing.T) {
	m := startSettled(t, "perf")
	got := runCtl(t, nil, "", "--endpoints", m.clientURL, "check", "perf", "--clients", "4", "--rate", "0", "--total", "40", "--duration", "20s")
	want := regexp.MustCompile(`\Acheck perf: finished 40 writes in \S+\n` +
		`Throughput is \d+ writes/s \(no target\)\n` +
		`(PASS|FAIL): All 40 writes succeeded\n` +
		`(PASS|FAIL): Slowest request took \d+\.\d{6}s\n` +
		`(PASS|FAIL): Stddev is \d+\.\d{6}s\n` +
		`Latency: average \d+\.\d{6}s, p50 \d+\.\d{6}s, p90 \d+\.\d{6}s, p99 \d+\.\d{6}s\n` +
		`(PASS|FAIL)\n\z`)
	verdict := map[int]string{0: "PASS\n", 5: "FAIL\n"}[got.code]
	if !want.MatchString(got.stdout) || verdict == "" || !strings.HasSuffix(got.stdout, "\n"+verdict) || got.stderr != "" {
		t.Errorf("check perf: %v", got)
	}
	if code, _, body := httpDo(t, "GET", m.clientURL+"/v2/keys/etcdctl-check-perf", ""); code != 404 {
		t.Errorf("check perf left its keys: %d %s", code, body)
	}
	// A prefix that exists is refused before any write.
	put(t, m, "busy/k", "v")
	got = runCtl(t, nil, "", "--endpoints", m.clientURL, "check", "perf", "--prefix", "/busy", "--total", "1")
	tmpl{}.check(t, "check perf on an existing prefix", got, "",
		"Error:  check perf: /busy/ already exists; remove it with 'etcdctl rm --recursive /busy' or choose another --prefix\n", 1)
}

// etcdctlVersion is what etcdctl --version prints when built with go build.
var etcdctlVersion = "etcdctl version 2.3.8\nGit SHA: Not provided (use ./build instead of go build)\n" +
	"Go Version: " + runtime.Version() + "\nGo OS/Arch: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
