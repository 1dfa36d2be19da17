package main

import (
	"strings"
	"testing"
)

// TestMemberAddInitialCluster follows the transcript of runtime
// reconfiguration: the new member's entry carries the name given on the
// command line, other unstarted members an empty name.
func TestMemberAddInitialCluster(t *testing.T) {
	s := newStub(t)
	s.on("POST /v2/members", answer{status: 201, body: `{"id":"f7d2d34ccb8fa2ad","name":"","peerURLs":["http://localhost:62480"],"clientURLs":[]}`})
	list := `{"members":[` +
		`{"id":"632d0c28c5f5882","name":"test2","peerURLs":["http://localhost:22480"],"clientURLs":["` + s.URL + `"]},` +
		`{"id":"9bf1b35fc7761a23","name":"","peerURLs":["http://localhost:52480"],"clientURLs":[]},` +
		`{"id":"f7d2d34ccb8fa2ad","name":"","peerURLs":["http://localhost:62480"],"clientURLs":[]}]}`
	s.on("GET /v2/members", answer{status: 200, body: list})
	got := run(runOpts{}, ep(s.URL, "member", "add", "test6", " http://localhost:62480 ")...)
	want := "Added member named test6 with ID f7d2d34ccb8fa2ad to cluster\n\n" +
		"ETCD_NAME=\"test6\"\n" +
		"ETCD_INITIAL_CLUSTER=\"test2=http://localhost:22480,=http://localhost:52480,test6=http://localhost:62480\"\n" +
		"ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n"
	check(t, got, want, "", 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests[1] != `POST /v2/members -d {"peerURLs":["http://localhost:62480"]}` || s.ctypes[1] != "application/json" {
		t.Errorf("add request %q, content type %q", s.requests[1], s.ctypes[1])
	}
}

func TestPeerURLsBody(t *testing.T) {
	tests := []struct {
		urls []string
		body string
		err  string
	}{
		{[]string{"http://b:2", "https://a:1"}, `{"peerURLs":["http://b:2","https://a:1"]}`, ""},
		{[]string{"https://b:2", "http://a:1"}, `{"peerURLs":["http://a:1","https://b:2"]}`, ""},
		{nil, "", "no valid URLs given"},
		{[]string{"unix://a:1"}, "", "URL scheme must be http or https: unix://a:1"},
		{[]string{"http://a"}, "", `URL address does not have the form "host:port": http://a`},
		{[]string{"http://a:1/"}, "", "URL must not contain a path: http://a:1/"},
		{[]string{"%zz"}, "", `parse "%zz": invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		body, err := peerURLsBody(tt.urls)
		if body != tt.body || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("peerURLsBody(%q) = %q, %v; want %q, %q", tt.urls, body, err, tt.body, tt.err)
		}
	}
}

func TestMemberArgumentsCheckedFirst(t *testing.T) {
	// Member commands check their arguments before they connect.
	dead := closedURL(t)
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"member", "list", "x"}, "No arguments accepted\n"},
		{[]string{"member", "add", "a"}, "Provide a name and a single member peerURL\n"},
		{[]string{"member", "remove"}, "Provide a single member ID\n"},
		{[]string{"member", "update", "a"}, "Provide an ID and a list of comma separated peerURL (0xabcd http://example.com,http://example1.com)\n"},
	} {
		check(t, run(runOpts{}, ep(dead, tt.args...)...), "", tt.msg, exitBadArgs)
	}
	got := run(runOpts{}, ep(dead, "member", "list")...)
	if got.code != exitBadConnection || !strings.HasPrefix(got.stderr, "Error:  client: etcd cluster is unavailable") {
		t.Errorf("member list on a dead endpoint: %+v", got)
	}
}
