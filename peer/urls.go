package peer

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// URLError reports a URL that breaks one of the rules for member URLs. Its
// text is the one etcd prints, so users and scripts see the same words.
type URLError struct {
	URL    string // the item as given, after trimming
	Reason string // what is wrong with it
}

func (e *URLError) Error() string { return e.Reason + ": " + e.URL }

// The reasons a URLError gives.
const (
	reasonScheme   = "URL scheme must be http or https"
	reasonHostPort = `URL address does not have the form "host:port"`
	reasonPath     = "URL must not contain a path"
)

// URLs is a list of member URLs, each checked by ParseURL and the whole kept
// sorted by string form. The zero value is an empty list.
//
// A pointer to URLs is a flag.Value, so a URL flag can be declared with
// flag.Var(&urls, ...).
type URLs []url.URL

// ParseURL parses one member URL: surrounding white space is trimmed, the
// scheme must be http or https, the host must have the form host:port and
// there must be no path.
func ParseURL(s string) (url.URL, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return url.URL{}, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return url.URL{}, &URLError{URL: s, Reason: reasonScheme}
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return url.URL{}, &URLError{URL: s, Reason: reasonHostPort}
	}
	if u.Path != "" {
		return url.URL{}, &URLError{URL: s, Reason: reasonPath}
	}
	return *u, nil
}

// ParseURLs parses a comma-separated list of member URLs (see ParseURL) and
// returns it sorted. Every item must be a valid URL, so the empty string and
// a list with an empty item are errors, as they are for etcd.
func ParseURLs(s string) (URLs, error) {
	return NewURLs(strings.Split(s, ","))
}

// NewURLs parses each string with ParseURL and returns the sorted list. It
// stops at the first bad item and returns its error.
func NewURLs(strs []string) (URLs, error) {
	us := make(URLs, 0, len(strs))
	for _, s := range strs {
		u, err := ParseURL(s)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	us.Sort()
	return us, nil
}

// MustParseURLs is ParseURLs for constants and tests: it panics on a bad list.
func MustParseURLs(s string) URLs {
	us, err := ParseURLs(s)
	if err != nil {
		panic(err)
	}
	return us
}

// Sort sorts the list in place by the URLs' string forms.
func (us URLs) Sort() {
	slices.SortStableFunc(us, func(a, b url.URL) int { return strings.Compare(a.String(), b.String()) })
}

// Strings returns the URLs' string forms, in the list's (sorted) order.
func (us URLs) Strings() []string {
	out := make([]string, len(us))
	for i := range us {
		out[i] = us[i].String()
	}
	return out
}

// String joins the URLs with commas, the form the flags take.
func (us URLs) String() string { return strings.Join(us.Strings(), ",") }

// Set parses s with ParseURLs and replaces the list; it makes *URLs a flag.Value.
func (us *URLs) Set(s string) error {
	parsed, err := ParseURLs(s)
	if err != nil {
		return err
	}
	*us = parsed
	return nil
}

// Equal reports whether the two lists hold the same URL strings, without any
// name resolution.
func (us URLs) Equal(other URLs) bool {
	return slices.Equal(sortedStrings(us), sortedStrings(other))
}

func sortedStrings(us URLs) []string {
	s := us.Strings()
	slices.Sort(s)
	return s
}

// LookupHost resolves a host name to its addresses, as
// (*net.Resolver).LookupHost does. Tests pass their own to avoid DNS.
type LookupHost func(ctx context.Context, host string) ([]string, error)

// URLsEqual reports whether two URL lists name the same endpoints. Lists that
// are equal as sorted strings are equal without any lookup. Otherwise each
// host that is neither "localhost" nor a literal IP address is resolved with
// lookup (net.DefaultResolver.LookupHost when lookup is nil) to its first IPv4
// address, or its first address when it has no IPv4 one, and the lists are
// compared again, sorted. A failed lookup makes the lists unequal and is
// returned as the error.
func URLsEqual(ctx context.Context, a, b URLs, lookup LookupHost) (bool, error) {
	if len(a) != len(b) {
		return false, nil
	}
	if a.Equal(b) {
		return true, nil
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	ra, err := resolveURLs(ctx, a, lookup)
	if err != nil {
		return false, err
	}
	rb, err := resolveURLs(ctx, b, lookup)
	if err != nil {
		return false, err
	}
	return ra.Equal(rb), nil
}

// resolveURLs returns a copy of us with every resolvable host name replaced by
// an IP address, keeping the port.
func resolveURLs(ctx context.Context, us URLs, lookup LookupHost) (URLs, error) {
	out := make(URLs, len(us))
	for i, u := range us {
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			return nil, fmt.Errorf("peer: cannot resolve %s: %w", u.String(), err)
		}
		if host == "localhost" || net.ParseIP(host) != nil {
			out[i] = u
			continue
		}
		addrs, err := lookup(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("peer: cannot resolve host %s: %w", host, err)
		}
		ip := pickAddress(addrs)
		if ip == "" {
			return nil, fmt.Errorf("peer: cannot resolve host %s: no address found", host)
		}
		u.Host = net.JoinHostPort(ip, port)
		out[i] = u
	}
	return out, nil
}

// pickAddress chooses the address a dial to "tcp" would try first: the first
// IPv4 address, or else the first address of any kind.
func pickAddress(addrs []string) string {
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
			return a
		}
	}
	for _, a := range addrs {
		if net.ParseIP(a) != nil {
			return a
		}
	}
	return ""
}
