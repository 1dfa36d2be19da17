package peer

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ID names a member or a cluster. It prints as lower-case hexadecimal without
// zero padding, as etcd prints IDs in logs, headers and JSON.
type ID uint64

// String returns the ID in lower-case hexadecimal without padding.
func (id ID) String() string { return strconv.FormatUint(uint64(id), 16) }

// ParseID parses an ID written in hexadecimal (either case, at most 16
// digits, no prefix).
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("peer: invalid ID %q: must be at most 16 hexadecimal digits", s)
	}
	return ID(n), nil
}

// MemberID derives a member's ID from its peer URLs and a token: SHA-1 over
// the URLs' string forms in sorted order, then the token, then, when t is not
// nil, t's Unix time in decimal seconds, all with no separators; the first 8
// bytes of the digest read big-endian are the ID.
//
// The token is --initial-cluster-token for a static or DNS SRV bootstrap, the
// full discovery URL for etcd discovery, and empty (with t set to the current
// time) for a member added at run time. The member's name plays no part.
func MemberID(peerURLs URLs, token string, t *time.Time) ID {
	strs := peerURLs.Strings()
	slices.Sort(strs)
	h := sha1.New()
	for _, s := range strs {
		h.Write([]byte(s))
	}
	h.Write([]byte(token))
	if t != nil {
		h.Write([]byte(strconv.FormatInt(t.Unix(), 10)))
	}
	return ID(binary.BigEndian.Uint64(h.Sum(nil)[:8]))
}

// ClusterID derives a cluster's ID from its members' IDs: SHA-1 over the IDs
// sorted ascending, each written as 8 big-endian bytes; the first 8 bytes of
// the digest read big-endian are the ID. Only a bootstrapping cluster computes
// it; a member that joins later or restarts takes the ID it is told or stored.
func ClusterID(memberIDs []ID) ID {
	ids := slices.Clone(memberIDs)
	slices.Sort(ids)
	buf := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(buf[8*i:], uint64(id))
	}
	sum := sha1.Sum(buf)
	return ID(binary.BigEndian.Uint64(sum[:8]))
}
