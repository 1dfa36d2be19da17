package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the walkthrough of README.md literally: it
// starts `etcd` with no flags (so on the default ports, 2379 and 2380, in a
// fresh directory), then runs every command of every ```console block in
// order and compares what it prints with the lines the README shows after
// it. etcdctl commands run the real binary; curl commands are carried out
// with net/http (the project takes no dependency on a curl binary). In an
// expected line, "…" stands for any text (timestamps, durations).
func TestReadmeWalkthrough(t *testing.T) {
	blocks := readmeConsoleBlocks(t, filepath.Join("..", "README.md"))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```console blocks")
	}
	dir := t.TempDir()
	waitPortsFree(t, "http://localhost:2379", "http://localhost:2380")
	p := startProc(t, dir, nil, bin.etcd) // no flags at all
	m := &member{name: "default", clientURL: "http://localhost:2379", p: p}
	waitReady(t, m)
	if _, err := os.Stat(filepath.Join(dir, "default.etcd", "member", "wal")); err != nil {
		t.Errorf("etcd with no flags did not keep its data in ./default.etcd: %v", err)
	}
	for _, b := range blocks {
		for _, c := range b {
			got := runReadmeCommand(t, c.cmd)
			if !matchLines(c.want, got) {
				t.Errorf("README.md:%d: $ %s\n got:\n%s\nwant:\n%s", c.line, c.cmd, got, strings.Join(c.want, "\n"))
			}
		}
	}
}

type readmeCommand struct {
	line int
	cmd  string
	want []string
}

// readmeConsoleBlocks returns the commands of every ```console block, each
// with the output lines that follow it.
func readmeConsoleBlocks(t *testing.T, path string) [][]readmeCommand {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks [][]readmeCommand
	var cur []readmeCommand
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in && line == "```console":
			in, cur = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, cur)
		case in && strings.HasPrefix(line, "$ "):
			cur = append(cur, readmeCommand{line: n, cmd: strings.TrimPrefix(line, "$ ")})
		case in:
			if len(cur) == 0 {
				t.Fatalf("README.md:%d: output before any command in a console block", n)
			}
			cur[len(cur)-1].want = append(cur[len(cur)-1].want, line)
		}
	}
	return blocks
}

// matchLines compares output with expected lines, "…" matching any text.
func matchLines(want []string, got string) bool {
	got = strings.TrimRight(got, "\n")
	var re strings.Builder
	re.WriteString(`^`)
	for i, w := range want {
		if i > 0 {
			re.WriteString(`\n`)
		}
		parts := strings.Split(w, "…")
		for j, p := range parts {
			if j > 0 {
				re.WriteString(`.*?`)
			}
			re.WriteString(regexp.QuoteMeta(p))
		}
	}
	re.WriteString(`$`)
	return regexp.MustCompile(re.String()).MatchString(got)
}

// runReadmeCommand runs one README command and returns what it printed.
func runReadmeCommand(t *testing.T, line string) string {
	t.Helper()
	args, err := shellWords(line)
	if err != nil || len(args) == 0 {
		t.Fatalf("cannot split %q: %v", line, err)
	}
	switch args[0] {
	case "etcdctl":
		stdout, stderr, _ := etcdctl(t, nil, args[1:]...)
		return stdout + stderr
	case "curl":
		return curl(t, args[1:])
	}
	t.Fatalf("README command %q: only etcdctl and curl are run", line)
	return ""
}

// curl carries out the few curl options the README uses: -s, -X METHOD,
// -d DATA (several are joined with &, sent as a form), -H "Name: value".
func curl(t *testing.T, args []string) string {
	t.Helper()
	method, url := "", ""
	var data []string
	hdr := http.Header{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-s":
		case "-X":
			i++
			method = args[i]
		case "-d":
			i++
			data = append(data, args[i])
		case "-H":
			i++
			k, v, _ := strings.Cut(args[i], ":")
			hdr.Set(k, strings.TrimSpace(v))
		default:
			if strings.HasPrefix(a, "-") {
				t.Fatalf("curl option %s is not supported by the README runner", a)
			}
			url = a
		}
	}
	if method == "" {
		method = "GET"
		if len(data) > 0 {
			method = "POST"
		}
	}
	req, err := http.NewRequest(method, url, strings.NewReader(strings.Join(data, "&")))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Sprintf("curl: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// shellWords splits a command line as a POSIX shell would for the simple
// quoting the README uses: single and double quotes, no variables.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unclosed %c", c)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
