package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"v2etcd/raft"
)

func TestFrameRoundTrip(t *testing.T) {
	msgs := []raft.Message{
		msgApp(1, 2, 5, 3, 128),
		heartbeat(1, 2, 9),
		{Type: raft.MsgVote, From: 3, To: 1, Term: 4, LogTerm: 3, Index: 77, Context: []byte("campaign")},
		snapMsg(1, 2, raft.SnapshotMetadata{Index: 10, Term: 2, ConfState: raft.ConfState{Voters: []uint64{1, 2, 3}}}, nil),
	}
	var b []byte
	for i := range msgs {
		b = appendFrame(b, &msgs[i])
		b = append(b, heartbeatFrame[:]...) // link heartbeats between messages are skipped
	}
	fr := newFrameReader(bytes.NewReader(b), 16)
	total := 0
	for i := range msgs {
		var m raft.Message
		n, err := fr.next(&m)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		total += n + 1
		if !reflect.DeepEqual(m, msgs[i]) {
			t.Errorf("message %d: got %+v, want %+v", i, m, msgs[i])
		}
	}
	if total != len(b) {
		t.Errorf("frame sizes add up to %d, the stream is %d bytes", total, len(b))
	}
	var m raft.Message
	if _, err := fr.next(&m); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	hb := heartbeat(1, 2, 3)
	good := appendFrame(nil, &hb)
	tests := []struct {
		name  string
		input []byte
		want  string
		is    error
	}{
		{"cut in the length", []byte{0x80}, "peer: stream ends inside a frame length", io.ErrUnexpectedEOF},
		{"cut in the message", good[:len(good)-1], "peer: stream ends inside a 11-byte frame", io.ErrUnexpectedEOF},
		{"too large", binary.AppendUvarint(nil, maxFrameSize+1), "peer: frame too large: 67108865 bytes, the limit is 67108864", errFrameTooLarge},
		{"overlong length", bytes.Repeat([]byte{0xff}, 11), "peer: cannot read a frame length", nil},
		{"bad message", []byte{2, 42, 0}, "peer: bad frame: raft: malformed encoding", raft.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m raft.Message
			_, err := newFrameReader(bytes.NewReader(tt.input), 16).next(&m)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want one wrapping %v", err, tt.is)
			}
		})
	}
}

func TestParseSemver(t *testing.T) {
	tests := []struct {
		in   string
		want semver
		ok   bool
	}{
		{"2.3.8", semver{2, 3}, true},
		{"2.2.0", semver{2, 2}, true},
		{"3.0.0-alpha.1", semver{3, 0}, true},
		{"2.3.8+git", semver{2, 3}, true},
		{"10.20.30", semver{10, 20}, true},
		{"2.3", semver{}, false},
		{"", semver{}, false},
		{"2.x.0", semver{}, false},
		{"2.3.-1", semver{}, false},
		{"-2.3.0", semver{}, false},
		{"+2.3.0", semver{}, false},
		{"2..0", semver{}, false},
	}
	for _, tt := range tests {
		got, err := parseSemver(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSemver(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	tr := &Transport{version: semver{2, 3}, minCluster: semver{2, 2}}
	tests := []struct {
		server, minCluster string
		want               string
	}{
		{"2.3.8", "2.2.0", ""},
		{"2.2.0", "2.2.0", ""},
		{"2.9.0", "2.3.0", ""},
		{"", "", "the sender's version 2.0 is below this member's minimum cluster version 2.2"},
		{"2.1.9", "2.1.0", "the sender's version 2.1 is below this member's minimum cluster version 2.2"},
		{"3.0.0", "2.4.0", "the sender's minimum cluster version 2.4 is above this member's version 2.3"},
		{"bogus", "2.2.0", `X-Server-Version: version "bogus" is not major.minor.patch`},
		{"2.3.8", "bogus", `X-Min-Cluster-Version: version "bogus" is not major.minor.patch`},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.server != "" {
			h.Set("X-Server-Version", tt.server)
		}
		if tt.minCluster != "" {
			h.Set("X-Min-Cluster-Version", tt.minCluster)
		}
		err := tr.checkVersion(h)
		if got := ""; err != nil {
			got = err.Error()
			if got != tt.want {
				t.Errorf("(%s, %s): %q, want %q", tt.server, tt.minCluster, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("(%s, %s): accepted, want %q", tt.server, tt.minCluster, tt.want)
		}
	}
}
