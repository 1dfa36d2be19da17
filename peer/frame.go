package peer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"v2etcd/raft"
)

// The frame format shared by streams, the pipeline and the snapshot
// endpoint (see the package documentation, "Framing"): a uvarint length N,
// then N bytes holding one raft.Message in raft's binary encoding. A frame
// with N = 0 carries no message; it is the link heartbeat a stream writer
// sends while it has nothing else to say.

// frameContentType is the media type of a body made of frames: the
// pipeline's request body and a stream's response body.
const frameContentType = "application/vnd.v2etcd.raft-frames"

// maxFrameSize bounds one frame's length, so that a corrupt or hostile
// length cannot make a reader allocate without limit. Raft's messages are
// bounded by MaxSizePerMsg (1 MiB by default) plus one oversized entry at
// most, far below this.
const maxFrameSize = 64 << 20

// heartbeatFrame is the whole encoding of a link heartbeat.
var heartbeatFrame = [1]byte{0}

// appendFrame appends the frame carrying m to b.
func appendFrame(b []byte, m *raft.Message) []byte {
	b = binary.AppendUvarint(b, uint64(m.Size()))
	return m.AppendTo(b)
}

// errFrameTooLarge is wrapped by the error for a frame over maxFrameSize.
var errFrameTooLarge = errors.New("peer: frame too large")

// frameReader reads frames from a byte stream.
type frameReader struct {
	br *bufio.Reader
}

func newFrameReader(r io.Reader, size int) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(r, size)}
}

// next reads frames until one carries a message, decodes it into m and
// returns the frame's size in bytes (length prefix included). Link heartbeats are skipped. The message's byte
// slices alias a buffer allocated for this frame alone, so m may be kept.
// At a clean end of the stream (between frames) next returns io.EOF; a
// stream cut inside a frame gives io.ErrUnexpectedEOF.
func (fr *frameReader) next(m *raft.Message) (int, error) {
	for {
		n, err := binary.ReadUvarint(fr.br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, fmt.Errorf("peer: stream ends inside a frame length: %w", err)
			}
			return 0, fmt.Errorf("peer: cannot read a frame length: %w", err)
		}
		if n == 0 {
			continue // link heartbeat
		}
		if n > maxFrameSize {
			return 0, fmt.Errorf("%w: %d bytes, the limit is %d", errFrameTooLarge, n, maxFrameSize)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(fr.br, buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("peer: stream ends inside a %d-byte frame: %w", n, err)
		}
		if err := m.Unmarshal(buf); err != nil {
			return 0, fmt.Errorf("peer: bad frame: %w", err)
		}
		var prefix [binary.MaxVarintLen64]byte
		return binary.PutUvarint(prefix[:], n) + int(n), nil
	}
}
