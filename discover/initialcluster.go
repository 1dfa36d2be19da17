package discover

import (
	"fmt"
	"slices"
	"strings"

	"v2etcd/peer"
)

// InitialCluster maps member names to their advertised peer URLs, as
// --initial-cluster gives them. Each name's URLs are sorted.
type InitialCluster map[string]peer.URLs

// ParseInitialCluster parses a comma-separated list of name=url items (see
// the package documentation). The empty string gives an empty map. A bad URL
// is returned as the error peer.ParseURL reports for it.
func ParseInitialCluster(s string) (InitialCluster, error) {
	c := InitialCluster{}
	for item := range strings.SplitSeq(s, ",") {
		if item == "" {
			continue
		}
		name, rawURL, _ := strings.Cut(item, "=")
		u, err := peer.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		c[name] = append(c[name], u)
	}
	for _, us := range c {
		us.Sort()
	}
	return c, nil
}

// Names returns the member names in sorted order.
func (c InitialCluster) Names() []string {
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// pairs returns every name=url pair, sorted as strings.
func (c InitialCluster) pairs() []string {
	var pairs []string
	for name, us := range c {
		for _, u := range us.Strings() {
			pairs = append(pairs, name+"="+u)
		}
	}
	slices.Sort(pairs)
	return pairs
}

// String returns the canonical form: every name=url pair, sorted as strings
// and joined with commas.
func (c InitialCluster) String() string { return strings.Join(c.pairs(), ",") }

// URLs returns every peer URL in the map, sorted by string form, duplicates
// kept.
func (c InitialCluster) URLs() peer.URLs {
	var all peer.URLs
	for _, us := range c {
		all = append(all, us...)
	}
	all.Sort()
	return all
}

// DuplicateURL returns a URL that appears more than once in the map, under
// two names or twice under one, and whether there is one. When several are
// duplicated it returns the smallest.
func (c InitialCluster) DuplicateURL() (string, bool) {
	all := c.URLs().Strings()
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			return all[i], true
		}
	}
	return "", false
}

// Members returns the members of the map, sorted by ID, each with the ID
// peer.MemberID derives from its URLs and token. Two names with the same URL
// set would share an ID; that is an error, as is the (astronomically
// unlikely) ID 0.
func (c InitialCluster) Members(token string) ([]*peer.Member, error) {
	byID := make(map[peer.ID]string, len(c))
	members := make([]*peer.Member, 0, len(c))
	for _, name := range c.Names() {
		m, err := peer.NewMember(name, slices.Clone(c[name]), token, nil)
		if err != nil {
			return nil, fmt.Errorf("discover: member %q: %w", name, err)
		}
		if other, ok := byID[m.ID]; ok {
			return nil, fmt.Errorf("discover: member exists with identical ID %s: %q and %q have the same peer URLs", m.ID, other, name)
		}
		byID[m.ID] = name
		members = append(members, m)
	}
	slices.SortFunc(members, func(a, b *peer.Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return members, nil
}

// ClusterID returns the ID of the cluster the map bootstraps with token: the
// peer.ClusterID of its members' IDs.
func (c InitialCluster) ClusterID(token string) (peer.ID, error) {
	members, err := c.Members(token)
	if err != nil {
		return 0, err
	}
	ids := make([]peer.ID, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	return peer.ClusterID(ids), nil
}
