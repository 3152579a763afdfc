package sqlserver

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/dolthub/vitess/go/mysql"
)

// MySQL command bytes the shim looks at.
const (
	comBinlogDump      = 0x12
	comRegisterSlave   = 0x15
	comBinlogDumpGTID  = 0x1e
	comStmtPrepare     = 0x16
	binlogThroughGTID  = 0x04
	binlogDumpNonBlock = 0x01
)

// shimListener wraps the server's listener so each connection's client
// packets pass through shimConn.
//
// Why: vitess has no dispatch for COM_BINLOG_DUMP (0x12), the command
// every file/position replica (and every MariaDB replica) sends, and its
// parsers drop the replica's server_id. The shim rewrites 0x12 into the
// equivalent COM_BINLOG_DUMP_GTID without a GTID set (which vitess hands
// to our handler with the file and position), sets the THROUGH_GTID flag
// when a 0x1e carries a GTID set without it (go-mysql's StartSyncGTID),
// and records the server_id from 0x12/0x15/0x1e. It works on the clear
// protocol only; the server does not offer TLS.
type shimListener struct {
	net.Listener
}

func (l *shimListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &shimConn{Conn: c}, nil
}

// shimConn parses the client→server packet stream.
type shimConn struct {
	net.Conn
	mu       sync.Mutex
	pending  []byte // transformed bytes not yet returned by Read
	passLeft int    // payload bytes of the current packet still to pass through
	serverID atomic.Uint32
	quit     atomic.Bool   // the client sent COM_QUIT (else its end counts in Aborted_clients)
	dumpCmd  atomic.Uint32 // the dump command the client sent (0x12 or 0x1e), before rewriting
}

func (c *shimConn) replicaServerID() uint32 { return c.serverID.Load() }

// shimOf returns the shim under a vitess connection, or nil.
func shimOf(c *mysql.Conn) *shimConn {
	sc, _ := c.Conn.(*shimConn)
	return sc
}

// maxInspect bounds the commands the shim buffers whole to look at.
const maxInspect = 64 << 10

func (c *shimConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) == 0 {
		if c.passLeft > 0 {
			n := len(p)
			if n > c.passLeft {
				n = c.passLeft
			}
			n, err := c.Conn.Read(p[:n])
			c.passLeft -= n
			return n, err
		}
		var hdr [4]byte
		if _, err := io.ReadFull(c.Conn, hdr[:]); err != nil {
			return 0, err
		}
		size := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		if hdr[3] != 0 || size == 0 || size > maxInspect {
			c.pending = append(c.pending, hdr[:]...)
			c.passLeft = size
			continue
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(c.Conn, payload); err != nil {
			return 0, err
		}
		payload = c.inspect(payload)
		n := len(payload)
		c.pending = append(c.pending, byte(n), byte(n>>8), byte(n>>16), 0)
		c.pending = append(c.pending, payload...)
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// inspect records server ids and COM_QUIT, rewrites dump commands, and applies the parser's rewrites
// (rewriteQuery, quoteKeywordIdentifiers) to the statement of a COM_STMT_PREPARE: vitess parses
// it with its own grammar before any handler sees it, so the parser's come too late for
// prepared statements. Statements longer than maxInspect pass unchanged.
func (c *shimConn) inspect(p []byte) []byte {
	switch p[0] {
	case comStmtPrepare:
		if q := quoteKeywordIdentifiers(rewriteQuery(string(p[1:]))); q != string(p[1:]) {
			return append([]byte{comStmtPrepare}, q...) // Read frames the new length
		}
	case mysql.ComQuit:
		c.quit.Store(true)
	case comRegisterSlave:
		if len(p) >= 5 {
			c.serverID.Store(binary.LittleEndian.Uint32(p[1:]))
		}
	case comBinlogDump:
		// pos u32, flags u16, server_id u32, file name (rest).
		if len(p) < 11 {
			return p
		}
		pos := binary.LittleEndian.Uint32(p[1:])
		flags := binary.LittleEndian.Uint16(p[5:]) &^ binlogDumpNonBlock
		sid := binary.LittleEndian.Uint32(p[7:])
		name := p[11:]
		c.serverID.Store(sid)
		c.dumpCmd.Store(comBinlogDump)
		out := []byte{comBinlogDumpGTID}
		out = binary.LittleEndian.AppendUint16(out, flags&^binlogThroughGTID)
		out = binary.LittleEndian.AppendUint32(out, sid)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(name)))
		out = append(out, name...)
		out = binary.LittleEndian.AppendUint64(out, uint64(pos))
		return out
	case comBinlogDumpGTID:
		// flags u16, server_id u32, name_len u32, name, pos u64,
		// [data_size u32, SID block].
		if len(p) < 11 {
			return p
		}
		c.serverID.Store(binary.LittleEndian.Uint32(p[3:]))
		c.dumpCmd.Store(comBinlogDumpGTID)
		flags := binary.LittleEndian.Uint16(p[1:]) &^ binlogDumpNonBlock
		nameLen := int(binary.LittleEndian.Uint32(p[7:]))
		if 11+nameLen+8+4 <= len(p) && flags&binlogThroughGTID == 0 {
			flags |= binlogThroughGTID
		}
		binary.LittleEndian.PutUint16(p[1:], flags)
	}
	return p
}
