package peer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// ErrNoClusterInfo is wrapped by GetMembers and GetVersion when no URL
// answered usefully.
var ErrNoClusterInfo = errors.New("peer: could not retrieve cluster information from the given urls")

// infoTimeout bounds one request of GetMembers or GetVersion when ctx has
// no earlier deadline.
const infoTimeout = 5 * time.Second

// GetMembers fetches the membership from the peer endpoint /members of the
// first of peerURLs that answers: the members sorted by ID and the cluster
// ID from the X-Etcd-Cluster-ID header. URLs are tried in order; tc is the
// client side of peer TLS (nil for the system's roots and no client
// certificate). When none answers, the error wraps ErrNoClusterInfo and
// tells what each URL did.
func GetMembers(ctx context.Context, peerURLs []string, tc *tls.Config) ([]*Member, ID, error) {
	client := infoClient(tc)
	defer client.CloseIdleConnections()
	var errs []error
	for _, s := range peerURLs {
		ms, cid, err := getMembers(ctx, client, s)
		if err == nil {
			return ms, cid, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, 0, fmt.Errorf("%w: %w", ErrNoClusterInfo, errors.Join(errs...))
}

func getMembers(ctx context.Context, client *http.Client, peerURL string) ([]*Member, ID, error) {
	resp, err := infoGet(ctx, client, peerURL, "/members")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	cid, err := ParseID(resp.Header.Get("X-Etcd-Cluster-ID"))
	if err != nil {
		return nil, 0, fmt.Errorf("peer: %s/members: bad X-Etcd-Cluster-ID: %w", peerURL, err)
	}
	var items []struct {
		ID         uint64   `json:"id"`
		Name       string   `json:"name"`
		PeerURLs   []string `json:"peerURLs"`
		ClientURLs []string `json:"clientURLs"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&items); err != nil {
		return nil, 0, fmt.Errorf("peer: %s/members: cannot decode the member list: %w", peerURL, err)
	}
	ms := make([]*Member, 0, len(items))
	for _, it := range items {
		m := &Member{ID: ID(it.ID), Name: it.Name}
		if m.PeerURLs, err = NewURLs(it.PeerURLs); err != nil {
			return nil, 0, fmt.Errorf("peer: %s/members: member %s: %w", peerURL, m.ID, err)
		}
		if len(it.ClientURLs) > 0 {
			if m.ClientURLs, err = NewURLs(it.ClientURLs); err != nil {
				return nil, 0, fmt.Errorf("peer: %s/members: member %s: %w", peerURL, m.ID, err)
			}
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return ms, cid, nil
}

// Versions is what the /version endpoint of a member says.
type Versions struct {
	Server  string `json:"etcdserver"`  // the member's version, e.g. "2.3.8"
	Cluster string `json:"etcdcluster"` // the cluster's version, e.g. "2.3.0", or "not_decided"
}

// GetVersion fetches /version from the first of urls that answers, trying
// them in order; tc as for GetMembers.
func GetVersion(ctx context.Context, urls []string, tc *tls.Config) (Versions, error) {
	client := infoClient(tc)
	defer client.CloseIdleConnections()
	var errs []error
	for _, s := range urls {
		v, err := getVersion(ctx, client, s)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return Versions{}, fmt.Errorf("%w: %w", ErrNoClusterInfo, errors.Join(errs...))
}

func getVersion(ctx context.Context, client *http.Client, u string) (Versions, error) {
	resp, err := infoGet(ctx, client, u, "/version")
	if err != nil {
		return Versions{}, err
	}
	defer resp.Body.Close()
	var v Versions
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&v); err != nil {
		return Versions{}, fmt.Errorf("peer: %s/version: cannot decode: %w", u, err)
	}
	if v.Server == "" {
		return Versions{}, fmt.Errorf("peer: %s/version: no etcdserver version", u)
	}
	return v, nil
}

// infoGet GETs path at base and returns a 200 response.
func infoGet(ctx context.Context, client *http.Client, base, path string) (*http.Response, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("peer: bad URL %q: %w", base, err)
	}
	u.Path = path
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("peer: bad URL %q: %w", base, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("peer: GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("peer: GET %s: %s", u, resp.Status)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// infoClient returns a client for one GetMembers or GetVersion call.
func infoClient(tc *tls.Config) *http.Client {
	return newHTTPClient(tc, time.Second, infoTimeout)
}
