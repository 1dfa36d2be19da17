package peer

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// semver is a version's major and minor numbers, the only parts the
// compatibility checks compare.
type semver struct{ major, minor int }

func (v semver) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v semver) less(o semver) bool {
	return v.major < o.major || v.major == o.major && v.minor < o.minor
}

// parseSemver reads "major.minor.patch", optionally followed by a
// pre-release or build suffix ("2.3.0-alpha.1", "2.3.8+git").
func parseSemver(s string) (semver, error) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) != 3 {
		return semver{}, fmt.Errorf("version %q is not major.minor.patch", s)
	}
	patch := parts[2]
	if i := strings.IndexAny(patch, "-+"); i >= 0 {
		patch = patch[:i]
	}
	var nums [3]int
	for i, p := range []string{parts[0], parts[1], patch} {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return semver{}, fmt.Errorf("version %q is not major.minor.patch", s)
		}
		nums[i] = n
	}
	return semver{nums[0], nums[1]}, nil
}

// The plain-text bodies of a 412 answer; the sender tells the two apart by
// them.
const (
	bodyIncompatibleVersion = "incompatible version"
	bodyClusterMismatch     = "cluster ID mismatch"
)

// headerVersion reads a version header; a missing one means 2.0.0.
func headerVersion(h http.Header, name string) (semver, error) {
	s := h.Get(name)
	if s == "" {
		return semver{2, 0}, nil
	}
	v, err := parseSemver(s)
	if err != nil {
		return semver{}, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// checkVersion decides whether a sender that announced the versions in h
// may talk to this member: its version must not be below this member's
// minimum cluster version, and its minimum cluster version must not be
// above this member's version.
func (t *Transport) checkVersion(h http.Header) error {
	server, err := headerVersion(h, "X-Server-Version")
	if err != nil {
		return err
	}
	minCluster, err := headerVersion(h, "X-Min-Cluster-Version")
	if err != nil {
		return err
	}
	if server.less(t.minCluster) {
		return fmt.Errorf("the sender's version %s is below this member's minimum cluster version %s", server, t.minCluster)
	}
	if t.version.less(minCluster) {
		return fmt.Errorf("the sender's minimum cluster version %s is above this member's version %s", minCluster, t.version)
	}
	return nil
}

// checkCompatible runs the checks every raft request passes (version, then
// cluster ID). On failure it logs, answers 412 with etcd's body and
// returns false.
func (t *Transport) checkCompatible(w http.ResponseWriter, r *http.Request) bool {
	if err := t.checkVersion(r.Header); err != nil {
		t.log.Error(fmt.Sprintf("request version incompatibility (%v)", err))
		http.Error(w, bodyIncompatibleVersion, http.StatusPreconditionFailed)
		return false
	}
	if got := r.Header.Get("X-Etcd-Cluster-ID"); got != t.cid.String() {
		t.log.Error(fmt.Sprintf("request cluster ID mismatch (got %s want %s)", got, t.cid))
		http.Error(w, bodyClusterMismatch, http.StatusPreconditionFailed)
		return false
	}
	return true
}
