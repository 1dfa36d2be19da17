package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// member is one member of the cluster as /v2/members describes it.
type member struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

// statusError is the error for an unexpected HTTP status.
func statusError(code int) error {
	return fmt.Errorf("unexpected status code %d", code)
}

// listMembers asks for the member list (GET /v2/members).
func listMembers(ctx context.Context, c *clusterClient) ([]member, error) {
	resp, body, err := c.do(ctx, &request{method: http.MethodGet, url: apiURL("/v2/members")})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp.StatusCode)
	}
	var list struct {
		Members []member
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	return list.Members, nil
}

// leaderMember asks which member leads (GET /v2/members/leader). During an
// election the server answers 503, which the client reports as a cluster
// error.
func leaderMember(ctx context.Context, c *clusterClient) (*member, error) {
	resp, body, err := c.do(ctx, &request{method: http.MethodGet, url: apiURL("/v2/members", "leader")})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp.StatusCode)
	}
	var m member
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// peerURLsBody checks peer URLs as etcd does and returns the JSON body
// {"peerURLs":[...]} with the URLs sorted. A URL must parse, use http or
// https, have a host:port and no path.
func peerURLsBody(urls []string) (string, error) {
	if len(urls) == 0 {
		return "", fmt.Errorf("no valid URLs given")
	}
	out := make([]string, len(urls))
	for i, in := range urls {
		in = strings.TrimSpace(in)
		u, err := url.Parse(in)
		if err != nil {
			return "", err
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", fmt.Errorf("URL scheme must be http or https: %s", in)
		}
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return "", fmt.Errorf(`URL address does not have the form "host:port": %s`, in)
		}
		if u.Path != "" {
			return "", fmt.Errorf("URL must not contain a path: %s", in)
		}
		out[i] = u.String()
	}
	sort.Strings(out)
	b, err := json.Marshal(struct {
		PeerURLs []string `json:"peerURLs"`
	}{out})
	return string(b), err
}

// decodeMembersError reads the {"message": ...} body of a refused members
// request.
func decodeMembersError(body []byte) error {
	var merr membersError
	if err := json.Unmarshal(body, &merr); err != nil {
		return err
	}
	return merr
}

// addMember announces a new member (POST /v2/members) and returns it.
func addMember(ctx context.Context, c *clusterClient, peerURL string) (*member, error) {
	body, err := peerURLsBody([]string{peerURL})
	if err != nil {
		return nil, err
	}
	resp, rbody, err := c.do(ctx, &request{
		method: http.MethodPost, url: apiURL("/v2/members"),
		body: &body, contentType: "application/json",
	})
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		var m member
		if err := json.Unmarshal(rbody, &m); err != nil {
			return nil, err
		}
		return &m, nil
	case http.StatusConflict:
		return nil, decodeMembersError(rbody)
	}
	return nil, statusError(resp.StatusCode)
}

// removeMember removes a member (DELETE /v2/members/<id>). A member that
// was removed before (410) counts as removed.
func removeMember(ctx context.Context, c *clusterClient, id string) error {
	resp, _, err := c.do(ctx, &request{method: http.MethodDelete, url: apiURL("/v2/members", id)})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusGone {
		return statusError(resp.StatusCode)
	}
	return nil
}

// updateMember replaces a member's peer URLs (PUT /v2/members/<id>).
func updateMember(ctx context.Context, c *clusterClient, id string, peerURLs []string) error {
	body, err := peerURLsBody(peerURLs)
	if err != nil {
		return err
	}
	resp, rbody, err := c.do(ctx, &request{
		method: http.MethodPut, url: apiURL("/v2/members", id),
		body: &body, contentType: "application/json",
	})
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusNotFound, http.StatusConflict:
		return decodeMembersError(rbody)
	}
	return statusError(resp.StatusCode)
}

// memberCommand returns member and its subcommands list, add, remove and
// update.
func memberCommand() *command {
	return &command{
		name:  "member",
		usage: "list, add, remove and update the members of the cluster",
		subcommands: []*command{
			{name: "list", usage: "list the members of the cluster", run: runMemberList},
			{name: "add", usage: "announce a new member to the cluster", argsUsage: "<name> <peerURL>", run: runMemberAdd},
			{name: "remove", usage: "remove a member from the cluster", argsUsage: "<memberID>", run: runMemberRemove},
			{name: "update", usage: "change the peer URLs of a member", argsUsage: "<memberID> <peerURLs>", run: runMemberUpdate},
		},
	}
}

// memberFailure is how member commands fail: the message as it is, exit 1.
func memberFailure(format string, args ...any) error {
	return rawExit(exitBadArgs, fmt.Sprintf(format, args...))
}

// runMemberList prints one line per member, in the server's order (by ID).
func runMemberList(a *app, g *globalOptions, in *invocation) error {
	if len(in.args) != 0 {
		return memberFailure("No arguments accepted\n")
	}
	c, err := a.connect(g)
	if err != nil {
		return err
	}
	ctx, cancel := g.totalContext()
	defer cancel()
	members, err := listMembers(ctx, c)
	if err != nil {
		return memberFailure("%s\n", err)
	}
	leader, err := leaderMember(ctx, c)
	if err != nil {
		return memberFailure("Failed to get leader:  %s\n", err)
	}
	for _, m := range members {
		if m.Name == "" {
			fmt.Fprintf(a.stdout, "%s[unstarted]: peerURLs=%s\n", m.ID, strings.Join(m.PeerURLs, ","))
			continue
		}
		fmt.Fprintf(a.stdout, "%s: name=%s peerURLs=%s clientURLs=%s isLeader=%v\n",
			m.ID, m.Name, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), m.ID == leader.ID)
	}
	return nil
}

// runMemberAdd announces a member and prints the settings it must start
// with: its name, the initial cluster (every member's peer URLs, the new
// one under the given name) and the state "existing".
func runMemberAdd(a *app, g *globalOptions, in *invocation) error {
	if len(in.args) != 2 {
		return memberFailure("Provide a name and a single member peerURL\n")
	}
	c, err := a.connect(g)
	if err != nil {
		return err
	}
	name, peerURL := in.args[0], in.args[1]
	ctx, cancel := g.totalContext()
	defer cancel()
	m, err := addMember(ctx, c, peerURL)
	if err != nil {
		return memberFailure("%s\n", err)
	}
	fmt.Fprintf(a.stdout, "Added member named %s with ID %s to cluster\n", name, m.ID)
	members, err := listMembers(ctx, c)
	if err != nil {
		return memberFailure("%s\n", err)
	}
	var conf []string
	for _, mm := range members {
		n := mm.Name
		if mm.ID == m.ID {
			n = name
		}
		for _, u := range mm.PeerURLs {
			conf = append(conf, n+"="+u)
		}
	}
	fmt.Fprintf(a.stdout, "\nETCD_NAME=%q\n", name)
	fmt.Fprintf(a.stdout, "ETCD_INITIAL_CLUSTER=%q\n", strings.Join(conf, ","))
	fmt.Fprintf(a.stdout, "ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n")
	return nil
}

// runMemberRemove removes a member after checking its ID against the list.
// Given a member's name instead of its ID, it points at the right ID.
func runMemberRemove(a *app, g *globalOptions, in *invocation) error {
	if len(in.args) != 1 {
		return memberFailure("Provide a single member ID\n")
	}
	id := in.args[0]
	c, err := a.connect(g)
	if err != nil {
		return err
	}
	ctx, cancel := g.totalContext()
	defer cancel()
	members, err := listMembers(ctx, c)
	if err != nil {
		return memberFailure("Error while verifying ID against known members: %s\n", err)
	}
	found := false
	for _, m := range members {
		if m.ID == id {
			found = true
		}
		if m.Name == id {
			fmt.Fprintf(a.stderr, "Found a member named %s; if this is correct, please use its ID, eg:\n\tetcdctl member remove %s\n", m.Name, m.ID)
			fmt.Fprintf(a.stderr, "For more details, read the documentation at https://github.com/coreos/etcd/blob/master/Documentation/runtime-configuration.md#remove-a-member\n\n")
		}
	}
	if !found {
		return memberFailure("Couldn't find a member in the cluster with an ID of %s.\n", id)
	}
	if err := removeMember(ctx, c, id); err != nil {
		return memberFailure("Received an error trying to remove member %s: %s", id, err)
	}
	fmt.Fprintf(a.stdout, "Removed member %s from cluster\n", id)
	return nil
}

// runMemberUpdate replaces the peer URLs of a member.
func runMemberUpdate(a *app, g *globalOptions, in *invocation) error {
	if len(in.args) != 2 {
		return memberFailure("Provide an ID and a list of comma separated peerURL (0xabcd http://example.com,http://example1.com)\n")
	}
	c, err := a.connect(g)
	if err != nil {
		return err
	}
	id, urls := in.args[0], in.args[1]
	ctx, cancel := g.totalContext()
	defer cancel()
	if err := updateMember(ctx, c, id, strings.Split(urls, ",")); err != nil {
		return memberFailure("%s\n", err)
	}
	fmt.Fprintf(a.stdout, "Updated member with ID %s in cluster\n", id)
	return nil
}
