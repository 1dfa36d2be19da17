// Package dnstest runs a tiny DNS server for tests: it answers SRV, A and
// AAAA questions from a table, over UDP on 127.0.0.1, so that code that
// looks up SRV records and host names through a *net.Resolver can be tested
// end to end without the system's DNS.
//
// It knows just enough of RFC 1035 for Go's own resolver: one question per
// query, answers in the answer section, authoritative, recursion available.
// A name in the table answers its records (or an empty answer for a type it
// has none of); any other name answers NXDOMAIN. Names are matched without
// regard to case or a trailing dot.
//
// Typical use:
//
//	srv, err := dnstest.NewServer(dnstest.Records{
//		SRV: map[string][]net.SRV{"_etcd-server._tcp.example.test": {{Target: "m1.example.test.", Port: 2380}}},
//		A:   map[string][]net.IP{"m1.example.test": {net.IPv4(127, 0, 0, 1)}},
//	})
//	...
//	defer srv.Close()
//	addrs, err := srv.Resolver().LookupHost(ctx, "m1.example.test")
//
// The binaries reach it through the V2ETCD_DNS_SERVER environment variable
// (see package discover).
package dnstest

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
)

// Records is the table a Server answers from. Keys are domain names, with or
// without the trailing dot, in any case.
type Records struct {
	SRV map[string][]net.SRV
	A   map[string][]net.IP // IPv4 addresses
	// AAAA holds IPv6 addresses; a name with only A records answers AAAA
	// questions with an empty answer.
	AAAA map[string][]net.IP
}

// DNS record types and classes used here (RFC 1035 §3.2.2, RFC 2782, RFC 3596).
const (
	typeA    = 1
	typeAAAA = 28
	typeSRV  = 33
	classIN  = 1
)

// Server is a running DNS server. Its methods are safe for concurrent use.
type Server struct {
	conn net.PacketConn
	done chan struct{}

	mu      sync.Mutex
	records Records
	queries []string // "TYPE name" of every question, in arrival order
}

// NewServer starts a server on a UDP port of 127.0.0.1 chosen by the
// system, answering from records.
func NewServer(records Records) (*Server, error) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{conn: conn, done: make(chan struct{}), records: normalize(records)}
	go s.serve()
	return s, nil
}

// Addr is the server's address, host:port.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Close stops the server and waits until it has stopped.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

// SetRecords replaces the table.
func (s *Server) SetRecords(records Records) {
	s.mu.Lock()
	s.records = normalize(records)
	s.mu.Unlock()
}

// Queries returns the questions asked so far, each as "SRV name", "A name"
// or "AAAA name" (other types by number), names in lower case without the
// trailing dot.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// Resolver returns a pure-Go resolver that sends every query to s.
func (s *Server) Resolver() *net.Resolver {
	addr := s.Addr()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

func normalize(r Records) Records {
	out := Records{SRV: map[string][]net.SRV{}, A: map[string][]net.IP{}, AAAA: map[string][]net.IP{}}
	for k, v := range r.SRV {
		out.SRV[canonical(k)] = v
	}
	for k, v := range r.A {
		out.A[canonical(k)] = v
	}
	for k, v := range r.AAAA {
		out.AAAA[canonical(k)] = v
	}
	return out
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 4096)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		resp, err := s.answer(buf[:n])
		if err != nil {
			continue // not a query we can parse: stay silent, as servers do
		}
		s.conn.WriteTo(resp, from)
	}
}

var errMalformed = errors.New("dnstest: malformed query")

// answer builds the response to one query message.
func (s *Server) answer(q []byte) ([]byte, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, errMalformed
	}
	name, end, err := readName(q, 12)
	if err != nil || end+4 > len(q) {
		return nil, errMalformed
	}
	qtype := binary.BigEndian.Uint16(q[end : end+2])
	question := q[12 : end+4] // name, type and class, copied as asked

	s.mu.Lock()
	s.queries = append(s.queries, typeName(qtype)+" "+name)
	srvs, known := s.records.SRV[name]
	as, knownA := s.records.A[name]
	aaaas, knownAAAA := s.records.AAAA[name]
	s.mu.Unlock()
	known = known || knownA || knownAAAA

	var answers [][]byte
	switch qtype {
	case typeSRV:
		for _, r := range srvs {
			rdata := binary.BigEndian.AppendUint16(nil, r.Priority)
			rdata = binary.BigEndian.AppendUint16(rdata, r.Weight)
			rdata = binary.BigEndian.AppendUint16(rdata, r.Port)
			rdata = appendName(rdata, r.Target)
			answers = append(answers, rdata)
		}
	case typeA:
		for _, ip := range as {
			if v4 := ip.To4(); v4 != nil {
				answers = append(answers, []byte(v4))
			}
		}
	case typeAAAA:
		for _, ip := range aaaas {
			if v6 := ip.To16(); v6 != nil && ip.To4() == nil {
				answers = append(answers, []byte(v6))
			}
		}
	}

	// Header: same ID; QR, AA, RD as asked, RA; NXDOMAIN for unknown names.
	flags := uint16(1<<15 | 1<<10 | 1<<7)
	flags |= binary.BigEndian.Uint16(q[2:4]) & (1 << 8) // RD
	if !known {
		flags |= 3
	}
	resp := append([]byte(nil), q[0:2]...)
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = binary.BigEndian.AppendUint16(resp, 0)
	resp = binary.BigEndian.AppendUint16(resp, 0)
	resp = append(resp, question...)
	for _, rdata := range answers {
		resp = append(resp, 0xc0, 12) // the name: a pointer to the question's
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, classIN)
		resp = binary.BigEndian.AppendUint32(resp, 60) // TTL, seconds
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp, nil
}

// readName reads an uncompressed name starting at off and returns it in
// canonical form and the offset after it. Queries never use compression.
func readName(b []byte, off int) (string, int, error) {
	var labels []string
	for {
		if off >= len(b) {
			return "", 0, errMalformed
		}
		n := int(b[off])
		off++
		if n == 0 {
			return canonical(strings.Join(labels, ".")), off, nil
		}
		if n > 63 || off+n > len(b) {
			return "", 0, errMalformed
		}
		labels = append(labels, string(b[off:off+n]))
		off += n
	}
}

// appendName appends name in wire form, uncompressed.
func appendName(b []byte, name string) []byte {
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		if label == "" {
			continue
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

func typeName(t uint16) string {
	switch t {
	case typeA:
		return "A"
	case typeAAAA:
		return "AAAA"
	case typeSRV:
		return "SRV"
	}
	return "TYPE" + strconv.Itoa(int(t))
}
