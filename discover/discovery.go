package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"v2etcd/peer"
)

// Errors of etcd discovery. Their texts are etcd's; the etcd binary wraps
// them as "failed to join discovery cluster (<error>)".
var (
	ErrInvalidURL           = errors.New("discovery: invalid URL")
	ErrBadSizeKey           = errors.New("discovery: size key is bad")
	ErrSizeNotFound         = errors.New("discovery: size key not found")
	ErrDuplicateID          = errors.New("discovery: found duplicate id")
	ErrDuplicateName        = errors.New("discovery: found duplicate name")
	ErrFullCluster          = errors.New("discovery: cluster is full")
	ErrTooManyRetries       = errors.New("discovery: too many retries")
	ErrBadDiscoveryEndpoint = errors.New("discovery: bad discovery endpoint")
)

// LevelNotice is the level of discovery's progress lines ("found peer ...").
// It sits between slog.LevelInfo and slog.LevelWarn, where etcd's NOTICE is.
const LevelNotice = slog.LevelInfo + 2

// configDirName is the registry directory that holds the settings; every
// other child of the token directory is a registered member.
const configDirName = "_config"

// Config says where the registry is and how to reach it.
type Config struct {
	// URL is the discovery URL (--discovery): the registry's scheme and
	// host, and as path the token's directory in its v2 keys API, such as
	// http://localhost:2379/v2/keys/_etcd/registry/mytoken.
	URL string
	// Proxy is an HTTP proxy for every request to the registry
	// (--discovery-proxy), "" for none. A value that does not parse as a
	// URL with an http scheme is tried again with "http://" in front.
	Proxy string
	// Logger receives the progress lines; nil discards them.
	Logger *slog.Logger

	// maxRetries bounds the retries (0: etcd's limit, 2^32-1) and sleep
	// waits between them (nil: a timer); tests set both.
	maxRetries uint64
	sleep      func(ctx context.Context, d time.Duration) error
}

// JoinCluster registers the member id in the registry, with config (the
// member's canonical initial-cluster string, name=peerURL,...) as the
// value, waits until as many members as the registry's size have
// registered, and returns the cluster: the first size registrations in
// creation order. It fails with ErrFullCluster when this member is not
// among them. See the package documentation for the steps and errors.
func JoinCluster(ctx context.Context, cfg Config, id peer.ID, config string) (InitialCluster, error) {
	d, err := newDiscovery(cfg, id.String())
	if err != nil {
		return nil, err
	}
	defer d.reg.close()
	s, err := d.look(ctx)
	if err != nil {
		return nil, err
	}
	if s.full(d.self) {
		return nil, ErrFullCluster
	}
	if err := d.createSelf(ctx, config); err != nil {
		return nil, err
	}
	if s, err = d.look(ctx); err != nil {
		return nil, err
	}
	if s.full(d.self) {
		return nil, ErrFullCluster
	}
	nodes, size, err := d.wait(ctx, s)
	if err != nil {
		return nil, err
	}
	return d.toCluster(nodes, size)
}

// GetCluster returns the cluster the registry describes without
// registering: the first size registrations in creation order, waiting for
// them when fewer have registered. A proxy uses it.
func GetCluster(ctx context.Context, cfg Config) (InitialCluster, error) {
	d, err := newDiscovery(cfg, "")
	if err != nil {
		return nil, err
	}
	defer d.reg.close()
	s, err := d.look(ctx)
	if err != nil {
		return nil, err
	}
	if s.full(d.self) {
		return d.toCluster(s.nodes[:s.size], s.size)
	}
	nodes, size, err := d.wait(ctx, s)
	if err != nil {
		return nil, err
	}
	return d.toCluster(nodes, size)
}

// discovery is one run of the protocol.
type discovery struct {
	cfg  Config
	reg  *registryClient
	dir  string // the token directory's URL path
	self string // this member's key name (its ID in hex); "" for GetCluster
	log  *slog.Logger

	retries    uint64
	maxRetries uint64
	sleep      func(ctx context.Context, d time.Duration) error
}

func newDiscovery(cfg Config, self string) (*discovery, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("discovery: bad discovery URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discovery: bad discovery URL %q: want http:// or https://, a host and a path", cfg.URL)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var proxy *url.URL
	if cfg.Proxy != "" {
		if proxy, err = ParseProxyURL(cfg.Proxy); err != nil {
			return nil, err
		}
		log.Info(fmt.Sprintf("using proxy %q", proxy.String()))
	}
	d := &discovery{
		cfg:        cfg,
		reg:        newRegistryClient(u.Scheme+"://"+u.Host, proxy),
		dir:        "/" + strings.Trim(u.Path, "/"),
		self:       self,
		log:        log,
		maxRetries: cfg.maxRetries,
		sleep:      cfg.sleep,
	}
	if d.maxRetries == 0 {
		d.maxRetries = math.MaxUint32
	}
	if d.sleep == nil {
		d.sleep = sleepContext
	}
	return d, nil
}

// ParseProxyURL parses a --discovery-proxy value as etcd does: a value that
// does not parse, or whose scheme does not start with "http", is parsed
// again with "http://" in front; if that fails too, the error is
// `invalid proxy address "<value>": <reason>`.
func ParseProxyURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !strings.HasPrefix(u.Scheme, "http") {
		u2, err2 := url.Parse("http://" + s)
		if err2 == nil {
			return u2, nil
		}
		if err == nil {
			err = err2
		}
		return nil, fmt.Errorf("invalid proxy address %q: %v", s, err)
	}
	return u, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// key returns the URL path of a name in the token directory.
func (d *discovery) key(name string) string { return path.Join(d.dir, name) }

// snapshot is what one look at the registry shows.
type snapshot struct {
	size   int
	dirKey string          // the token directory's key in the registry's key space
	nodes  []*registryNode // registrations, oldest first, _config left out
	index  uint64          // the registry's index when it listed them
}

// full reports whether the cluster is complete without the member whose
// key name is self: size members have registered and self is not among
// the first size of them.
func (s snapshot) full(self string) bool {
	for i, n := range s.nodes {
		if self != "" && path.Base(n.Key) == self {
			return false
		}
		if i >= s.size-1 {
			return true
		}
	}
	return false
}

// look reads the size and the registrations, retrying while the registry
// is unavailable.
func (d *discovery) look(ctx context.Context) (snapshot, error) {
	for {
		s, err := d.lookOnce(ctx)
		if isUnavailable(err) {
			if err := d.backoff(ctx, "cluster status check", err); err != nil {
				return snapshot{}, err
			}
			continue
		}
		return s, err
	}
}

func (d *discovery) lookOnce(ctx context.Context) (snapshot, error) {
	resp, err := d.reg.get(ctx, d.key(configDirName+"/size"))
	switch {
	case isRegistryError(err, codeKeyNotFound):
		return snapshot{}, ErrSizeNotFound
	case err != nil:
		return snapshot{}, err
	}
	size, err := strconv.Atoi(resp.Node.Value)
	if err != nil || size < 1 {
		return snapshot{}, ErrBadSizeKey
	}
	resp, err = d.reg.get(ctx, d.dir)
	if err != nil {
		return snapshot{}, err
	}
	s := snapshot{size: size, dirKey: resp.Node.Key, index: resp.Index}
	for _, n := range resp.Node.Nodes {
		if path.Base(n.Key) != configDirName {
			s.nodes = append(s.nodes, n)
		}
		s.index = max(s.index, n.ModifiedIndex)
	}
	s.index = max(s.index, resp.Node.ModifiedIndex)
	slices.SortStableFunc(s.nodes, func(a, b *registryNode) int {
		switch {
		case a.CreatedIndex < b.CreatedIndex:
			return -1
		case a.CreatedIndex > b.CreatedIndex:
			return 1
		}
		return 0
	})
	return s, nil
}

// backoff logs why the registry could not be asked and waits before the
// next try: 2^i seconds before retry i, with no upper limit but etcd's
// retry limit, after which it fails with ErrTooManyRetries.
func (d *discovery) backoff(ctx context.Context, step string, cause error) error {
	d.log.Error("error #0: " + cause.Error())
	if d.retries >= d.maxRetries {
		return ErrTooManyRetries
	}
	d.retries++
	wait := time.Second << min(d.retries, 32)
	d.log.Info(fmt.Sprintf("%s: error connecting to %s, retrying in %v", step, d.reg.endpoint, wait))
	return d.sleep(ctx, wait)
}

// createSelf registers this member: its key must not exist yet. It then
// waits until the registry it talks to shows the key, which matters when
// that registry is a cluster behind a load balancer.
func (d *discovery) createSelf(ctx context.Context, config string) error {
	resp, err := d.reg.create(ctx, d.key(d.self), config)
	switch {
	case isRegistryError(err, codeNodeExist):
		return ErrDuplicateID
	case err != nil:
		return err
	}
	for {
		_, err = d.reg.watch(ctx, d.key(d.self), resp.Node.CreatedIndex, false)
		if err != errEmptyBody {
			return err
		}
	}
}

// wait watches the token directory until size members have registered,
// logging each one found, and returns the first size registrations and the
// size. When the registry becomes unavailable it backs off, looks again and
// goes on waiting; so it does when the registry's event history no longer
// reaches back to where the watch was.
func (d *discovery) wait(ctx context.Context, s snapshot) ([]*registryNode, int, error) {
	var nodes []*registryNode
	known := map[string]bool{}
	start := func(s snapshot) {
		nodes = s.nodes[:min(len(s.nodes), s.size)]
		clear(known)
		for _, n := range nodes {
			name := path.Base(n.Key)
			known[name] = true
			if name == d.self {
				d.log.Log(ctx, LevelNotice, fmt.Sprintf("found self %s in the cluster", name))
			} else {
				d.log.Log(ctx, LevelNotice, fmt.Sprintf("found peer %s in the cluster", name))
			}
		}
	}
	start(s)
	index := s.index
	for len(nodes) < s.size {
		d.log.Log(ctx, LevelNotice, fmt.Sprintf("found %d peer(s), waiting for %d more", len(nodes), s.size-len(nodes)))
		resp, err := d.reg.watch(ctx, d.dir, index+1, true)
		lookAgain := false
		switch {
		case err == errEmptyBody:
			continue
		case isUnavailable(err):
			if err := d.backoff(ctx, "waiting for other nodes", err); err != nil {
				return nil, 0, err
			}
			lookAgain = true
		case isRegistryError(err, codeEventIndexCleared):
			lookAgain = true
		case err != nil:
			return nil, 0, err
		}
		if lookAgain {
			if s, err = d.look(ctx); err != nil {
				return nil, 0, err
			}
			if s.full(d.self) {
				if d.self != "" {
					return nil, 0, ErrFullCluster
				}
				return s.nodes[:s.size], s.size, nil
			}
			start(s)
			index = s.index
			continue
		}
		index = max(index, resp.Node.ModifiedIndex)
		if name, ok := s.registration(resp, known); ok {
			d.log.Log(ctx, LevelNotice, fmt.Sprintf("found peer %s in the cluster", name))
			known[name] = true
			nodes = append(nodes, resp.Node)
		}
	}
	d.log.Log(ctx, LevelNotice, fmt.Sprintf("found %d needed peer(s)", len(nodes)))
	return nodes, s.size, nil
}

// registration reports whether a watch event registers a new member, and
// its key name: a value written to a new child of the token directory
// other than _config. Other changes (to _config, deletions, expiries, keys
// deeper down) are not registrations.
func (s snapshot) registration(resp *registryResponse, known map[string]bool) (string, bool) {
	n := resp.Node
	switch resp.Action {
	case "create", "set", "update", "compareAndSwap":
	default:
		return "", false
	}
	name := path.Base(n.Key)
	if n.Dir || name == configDirName || known[name] {
		return "", false
	}
	if s.dirKey != "" && path.Dir(n.Key) != s.dirKey {
		return "", false
	}
	return name, true
}

// toCluster joins the registrations' values with commas and parses them as
// an initial cluster, which must name size members.
func (d *discovery) toCluster(nodes []*registryNode, size int) (InitialCluster, error) {
	values := make([]string, len(nodes))
	for i, n := range nodes {
		values[i] = n.Value
	}
	joined := strings.Join(values, ",")
	c, err := ParseInitialCluster(joined)
	if err != nil {
		d.log.Error(fmt.Sprintf("cannot parse the registered cluster %q: %v", joined, err))
		return nil, ErrInvalidURL
	}
	if len(c) != size {
		return nil, ErrDuplicateName
	}
	return c, nil
}
