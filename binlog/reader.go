package binlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrTornEvent reports an event cut short by the end of the file: a write
// that did not complete (crash) or one still being appended.
var ErrTornEvent = errors.New("binlog: torn event at end of file")

// FileReader reads the events of one binlog or relay log file in order.
type FileReader struct {
	f        *os.File
	r        *bufio.Reader
	name     string
	pos      uint64
	checksum bool
	// FormatFlags are the header flags of the file's FORMAT_DESCRIPTION
	// event (LOG_EVENT_BINLOG_IN_USE_F: the file was not closed cleanly).
	FormatFlags uint16
}

// OpenFile opens path, checks the magic and reads the
// FORMAT_DESCRIPTION_EVENT (returned by Next like any other event).
func OpenFile(path string) (*FileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fr := &FileReader{f: f, r: bufio.NewReaderSize(f, 64<<10), name: filepath.Base(path)}
	var magic [FileHeaderLen]byte
	if _, err := io.ReadFull(fr.r, magic[:]); err != nil || !bytes.Equal(magic[:], Magic) {
		f.Close()
		return nil, fmt.Errorf("binlog: %s is not a binlog file", path)
	}
	fr.pos = FileHeaderLen
	ev, err := fr.peekFDE()
	if err != nil {
		f.Close()
		return nil, err
	}
	h, _ := ParseHeader(ev)
	fr.FormatFlags = h.Flags
	// The algorithm byte sits just before the FDE's own 4 checksum bytes,
	// which every FDE carries.
	if len(ev) < HeaderLen+57+5 {
		f.Close()
		return nil, fmt.Errorf("binlog: %s: format description event too short", path)
	}
	fr.checksum = ev[len(ev)-5] == BINLOG_CHECKSUM_ALG_CRC32
	return fr, nil
}

func (fr *FileReader) peekFDE() ([]byte, error) {
	hdr, err := fr.r.Peek(HeaderLen)
	if err != nil {
		return nil, fmt.Errorf("binlog: %s: no format description event: %w", fr.name, ErrTornEvent)
	}
	h, _ := ParseHeader(hdr)
	if h.Type != FORMAT_DESCRIPTION_EVENT {
		return nil, fmt.Errorf("binlog: %s: first event is type %d, not FORMAT_DESCRIPTION", fr.name, h.Type)
	}
	ev, err := fr.r.Peek(int(h.EventSize))
	if err != nil {
		return nil, fmt.Errorf("binlog: %s: %w", fr.name, ErrTornEvent)
	}
	return ev, nil
}

// Name is the file's base name.
func (fr *FileReader) Name() string { return fr.name }

// Checksum reports whether the file's events end with a CRC32.
func (fr *FileReader) Checksum() bool { return fr.checksum }

// Pos is the offset of the next event.
func (fr *FileReader) Pos() uint64 { return fr.pos }

// Seek moves to offset pos, which must be an event boundary.
func (fr *FileReader) Seek(pos uint64) error {
	if _, err := fr.f.Seek(int64(pos), io.SeekStart); err != nil {
		return err
	}
	fr.r.Reset(fr.f)
	fr.pos = pos
	return nil
}

// Next returns the next event (header, body and checksum) and its start
// offset. At the clean end of the file it returns io.EOF; a partial event
// gives ErrTornEvent and a bad checksum ErrChecksum, leaving Pos at the
// event's start. The returned slice is valid until the next call.
func (fr *FileReader) Next() ([]byte, uint64, error) {
	start := fr.pos
	hdr, err := fr.r.Peek(HeaderLen)
	if err != nil {
		if len(hdr) == 0 && errors.Is(err, io.EOF) {
			return nil, start, io.EOF
		}
		return nil, start, ErrTornEvent
	}
	size := binary.LittleEndian.Uint32(hdr[9:])
	if size < HeaderLen || size > 1<<30 {
		return nil, start, fmt.Errorf("binlog: %s at %d: bad event size %d: %w", fr.name, start, size, ErrTornEvent)
	}
	if size > 1<<20 {
		// Never allocate for an event the file cannot hold (a damaged size field).
		if st, err := fr.f.Stat(); err == nil && uint64(st.Size()) < start+uint64(size) {
			return nil, start, ErrTornEvent
		}
	}
	ev := make([]byte, size)
	if _, err := io.ReadFull(fr.r, ev); err != nil {
		// Put the reader back at the event's start.
		_ = fr.Seek(start)
		return nil, start, ErrTornEvent
	}
	if fr.checksum || ev[4] == FORMAT_DESCRIPTION_EVENT {
		if err := VerifyChecksum(ev); err != nil {
			_ = fr.Seek(start)
			return nil, start, err
		}
	}
	fr.pos += uint64(size)
	return ev, start, nil
}

// Body returns an event's body: without header and checksum.
func (fr *FileReader) Body(ev []byte) []byte {
	return EventBody(ev, fr.checksum)
}

// EventBody strips the header and (when present) the checksum.
func EventBody(ev []byte, checksum bool) []byte {
	end := len(ev)
	if checksum {
		end -= ChecksumLen
	}
	if end < HeaderLen {
		return nil
	}
	return ev[HeaderLen:end]
}

// Close closes the file.
func (fr *FileReader) Close() error { return fr.f.Close() }
