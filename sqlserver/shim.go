package sqlserver

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
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
// and records the server_id from 0x12/0x15/0x1e. With a TLS configuration it
// also terminates TLS (see shimConn.startTLS), so it sees the clear protocol
// of TLS connections too.
type shimListener struct {
	net.Listener
	tls *tls.Config   // nil: no TLS offered
	st  *serverStatus // Ssl_accepts, Ssl_finished_accepts; nil: not counted
}

func (l *shimListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// connect_timeout: the client has that long to send its handshake response (MySQL then
	// answers Bad handshake; a client that sent nothing is simply closed).
	_ = c.SetReadDeadline(time.Now().Add(time.Duration(globalInt("connect_timeout", 10)) * time.Second))
	return newShimConn(c, l.tls, l.st), nil
}

// shimReadBuffer is the size of a connection's read buffer: a command's header, first byte
// and payload come from one read of the socket rather than three.
const shimReadBuffer = 16 << 10

func newShimConn(c net.Conn, tlsCfg *tls.Config, st *serverStatus) *shimConn {
	return &shimConn{Conn: c, in: bufio.NewReaderSize(c, shimReadBuffer), tlsCfg: tlsCfg, st: st}
}

// shimConn parses the client→server packet stream.
//
// It also guards vitess: the client's handshake response and every command packet vitess would
// parse by hand pass checkHandshakeResponse / checkCommand first (wire.go). A refused handshake
// is answered with 1043 and the connection closed; a refused command is answered with its error
// and dropped, and the connection keeps serving, as MySQL does. A message larger than
// max_allowed_packet (the value at connect, as MySQL's session copy) is answered with 1153 and
// the connection closed after the rest of the message is read and discarded, so the client
// sees the error rather than a reset.
//
// Read runs on the connection's goroutine (vitess reads only between commands) or, during a
// binlog dump, on the dump's reply reader; the shim then passes bytes through untouched.
type shimConn struct {
	net.Conn
	in        *bufio.Reader // buffers the socket's bytes; read under mu (through reader)
	mu        sync.Mutex
	pending   []byte // transformed bytes not yet returned by Read
	passLeft  int    // payload bytes of the current packet still to pass through
	inChain   bool   // the message being passed through continues in the next packet
	msgSize   int    // bytes of the message being passed through so far
	greeted   bool   // the handshake response was read
	maxPacket int    // max_allowed_packet at connect
	serverID  atomic.Uint32
	dumping   atomic.Bool   // a binlog dump owns the connection
	quit      atomic.Bool   // the client sent COM_QUIT (else its end counts in Aborted_clients)
	dumpCmd   atomic.Uint32 // the dump command the client sent (0x12 or 0x1e), before rewriting
	oversize  atomic.Bool   // a message was refused as too big: release memory at close (memrelease.go)

	// Authentication-phase state for MySQL's 1045 text (see Write).
	authDone     atomic.Bool // the first command arrived, or TLS started: writes pass through
	wmu          sync.Mutex
	wbuf         []byte // server bytes of an incomplete packet, during authentication
	authUser     string // the user named in the handshake response
	sentPassword bool   // the client sent a non-empty auth response

	interactive bool      // the handshake response had CLIENT_INTERACTIVE
	idle        idleTimer // wait_timeout (idle.go)

	// afterReply runs once when vitess next waits for a command: the reply to the command
	// that set it has been written by then (SHUTDOWN's OK, shutdown.go).
	afterReply atomic.Pointer[func()]

	// vc is the vitess connection on top of the shim, set by handler.NewConnection before
	// vitess reads; checkStmtExecute reads its prepared statements on the reading goroutine.
	vc *mysql.Conn

	// TLS (startTLS). tc is set once, on the reading goroutine during the handshake.
	tlsCfg    *tls.Config
	st        *serverStatus
	tc        atomic.Pointer[tls.Conn]
	shift     bool        // TLS started: sequence numbers differ by one from vitess's until authDone
	greetSent bool        // the server's greeting went out (Write)
	negotiate atomic.Bool // vitess is between reading the handshake response and its next I/O
}

// wire is the connection the protocol's bytes travel on: the TLS connection once TLS started.
func (c *shimConn) wire() net.Conn {
	if t := c.tc.Load(); t != nil {
		return t
	}
	return c.Conn
}

// reader is where the protocol's bytes are read from: the TLS connection once TLS started,
// else the buffered socket. Called with mu held.
func (c *shimConn) reader() io.Reader {
	if t := c.tc.Load(); t != nil {
		return t
	}
	return c.in
}

// bufferedConn is the socket as TLS reads it: first the bytes the shim's buffer already holds
// (a client sends its TLS hello right after the SSLRequest, without waiting).
type bufferedConn struct {
	net.Conn
	in *bufio.Reader
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.in.Read(p) }

// TLSState returns the negotiated TLS state; ok is false for a connection without TLS.
func (c *shimConn) TLSState() (tls.ConnectionState, bool) {
	if t := c.tc.Load(); t != nil {
		return t.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// RemoteAddr implements net.Conn. While vitess negotiates the authentication method of a TLS
// connection it also marks the vitess connection as TLS (CLIENT_SSL in Capabilities, which
// vitess's TLSEnabled reads and its caching_sha2_password method needs): vitess resets the
// capabilities when it parses the handshake response, and the auth methods' user check,
// which calls RemoteAddr, is the first call into the shim after that parse.
func (c *shimConn) RemoteAddr() net.Addr {
	if c.negotiate.Load() && c.vc != nil {
		c.vc.Capabilities |= mysql.CapabilityClientSSL
	}
	return c.Conn.RemoteAddr()
}

func (c *shimConn) replicaServerID() uint32 { return c.serverID.Load() }

// Close closes the connection; after a message refused as too big it also has the memory
// vitess gathered for it returned to the operating system (releaseMemory).
func (c *shimConn) Close() error {
	err := c.Conn.Close()
	if c.oversize.Load() {
		releaseMemory()
	}
	return err
}

// endDump gives the connection back to command inspection when a dump ends.
func (c *shimConn) endDump() { c.dumping.Store(false) }

// shimOf returns the shim under a vitess connection, or nil.
func shimOf(c *mysql.Conn) *shimConn {
	sc, _ := c.Conn.(*shimConn)
	return sc
}

// maxInspect bounds the packets the shim buffers whole to look at (COM_STMT_EXECUTE excepted:
// it is always read whole, up to max_allowed_packet).
const maxInspect = 64 << 10

// maxPacketPayload is the largest payload of one protocol packet; a message this long
// continues in the next packet.
const maxPacketPayload = 0xffffff

// errPacketRefused ends the connection after the shim answered a packet itself.
var errPacketRefused = errors.New("sqlserver: client packet refused")

func (c *shimConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) == 0 {
		c.endNegotiation()
		if c.passLeft > 0 {
			n := len(p)
			if n > c.passLeft {
				n = c.passLeft
			}
			n, err := c.reader().Read(p[:n])
			c.passLeft -= n
			return n, err
		}
		var hdr [4]byte
		if f := c.afterReply.Swap(nil); f != nil && c.idle.running.Load() == 0 {
			(*f)()
		} else if f != nil {
			c.afterReply.Store(f) // a read of GMS's activity watcher, not the command loop's
		}
		c.armIdle()
		if _, err := io.ReadFull(c.reader(), hdr[:]); err != nil {
			return 0, err
		}
		if !c.disarmIdle() {
			return 0, net.ErrClosed // wait_timeout closed the connection
		}
		if err := c.next(hdr); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// next handles the packet whose header was just read: it queues it (possibly transformed) in
// c.pending or c.passLeft, or answers it itself.
func (c *shimConn) next(hdr [4]byte) error {
	size := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	seq := hdr[3]
	pass := func() {
		c.pending = append(c.pending, hdr[:]...)
		c.passLeft = size
	}
	switch {
	case c.dumping.Load():
		pass()
		return nil
	case c.inChain:
		c.msgSize += size
		if c.msgSize > c.maxPacket {
			return c.tooBig(seq, size)
		}
		c.inChain = size == maxPacketPayload
		pass()
		return nil
	case !c.greeted:
		c.greeted = true
		c.maxPacket = maxAllowedPacket()
		if size >= maxInspect {
			return c.refuseHandshake(seq, size)
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(c.reader(), payload); err != nil {
			return err
		}
		if checkHandshakeResponse(payload) != nil {
			return c.refuseHandshake(seq, 0)
		}
		if len(payload) == 32 { // SSLRequest: TLS follows
			if c.tlsCfg == nil {
				return c.refuseHandshake(seq, 0) // not offered
			}
			return c.startTLS()
		}
		if globalBool("require_secure_transport") {
			return c.refuse(seq, mysql.NewSQLError(erSecureTransportRequired, "HY000",
				"Connections using insecure transport are prohibited while --require_secure_transport=ON."))
		}
		_ = c.Conn.SetReadDeadline(time.Time{}) // connect_timeout no longer applies
		c.noteHandshake(payload)
		c.queue(seq, payload)
		return nil
	case seq != 0:
		// Authentication exchange (auth switch response, more data).
		if !c.authDone.Load() && size > 0 {
			c.sentPassword = true
		}
		if c.shift && !c.authDone.Load() {
			hdr[3]--
		}
		c.inChain, c.msgSize = size == maxPacketPayload, size
		pass()
		return nil
	}
	c.authDone.Store(true)
	if size > c.maxPacket {
		return c.tooBig(seq, size)
	}
	if size == 0 {
		return c.answer(seq, checkCommand(nil, nil))
	}
	var first [1]byte
	if _, err := io.ReadFull(c.reader(), first[:]); err != nil {
		return err
	}
	if size == maxPacketPayload || size > maxInspect {
		if !checkedCommand(first[0]) {
			// A large command vitess reads as a whole (COM_QUERY…): pass it through.
			c.pending = append(c.pending, hdr[:]...)
			c.pending = append(c.pending, first[0])
			c.passLeft = size - 1
			c.inChain, c.msgSize = size == maxPacketPayload, size
			return nil
		}
	}
	payload, lastSeq, err := c.readMessage(first[0], size, seq)
	if err != nil {
		return err
	}
	if err := checkCommand(payload, c.prepared); err != nil {
		return c.answer(lastSeq, err)
	}
	payload = c.inspect(payload)
	if payload[0] == mysql.ComStmtSendLongData {
		c.forgetResetLongData(payload)
	}
	if payload[0] == comBinlogDumpGTID {
		// The dump owns the connection until handler.ComBinlogDumpGTID returns. Its reads
		// (the replica's ACKs) do not spin and it no longer counts as executing (readSpin).
		c.dumping.Store(true)
		if cc, ok := c.Conn.(*countingConn); ok && cc.raw != nil {
			cc.raw.detach()
		}
	}
	c.queue(seq, payload)
	return nil
}

// noteHandshake records the user and whether a password was sent, from a handshake response
// that passed checkHandshakeResponse.
func (c *shimConn) noteHandshake(p []byte) {
	c.interactive = binary.LittleEndian.Uint32(p)&capClientInteractive != 0
	rest := p[32:]
	end := bytes.IndexByte(rest, 0)
	if end < 0 {
		return
	}
	c.authUser = string(rest[:end])
	// The auth response follows: a length (lenenc or one byte) or a NUL-terminated string;
	// either way its first byte is 0 when it is empty.
	rest = rest[end+1:]
	c.sentPassword = len(rest) > 0 && rest[0] != 0
}

// Write passes the server's bytes on. During authentication it assembles whole packets and
// gives an access-denied error MySQL's text, "Access denied for user 'u'@'host' (using
// password: YES|NO)" (vitess and GMS name the user only). vitess writes on the connection's
// goroutine, so packets are never interleaved.
func (c *shimConn) Write(p []byte) (int, error) {
	if c.authDone.Load() {
		c.wmu.Lock()
		pending := c.wbuf
		c.wbuf = nil
		c.wmu.Unlock()
		if len(pending) > 0 {
			if _, err := c.wire().Write(pending); err != nil {
				return 0, err
			}
		}
		return c.wire().Write(p)
	}
	c.endNegotiation()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = append(c.wbuf, p...)
	for len(c.wbuf) >= 4 {
		n := int(c.wbuf[0]) | int(c.wbuf[1])<<8 | int(c.wbuf[2])<<16
		if len(c.wbuf) < 4+n {
			break
		}
		pkt := c.wbuf[:4+n]
		if !c.greetSent {
			c.greetSent = true
			c.offerTLS(pkt)
		}
		if c.shift {
			pkt[3]++
		}
		out := c.accessDeniedText(pkt)
		if _, err := c.wire().Write(out); err != nil {
			return 0, err
		}
		c.wbuf = c.wbuf[4+n:]
	}
	if len(c.wbuf) == 0 {
		c.wbuf = nil
	}
	return len(p), nil
}

// accessDeniedText rewrites an ERR 1045 packet with MySQL's text; other packets are returned
// unchanged.
func (c *shimConn) accessDeniedText(pkt []byte) []byte {
	if len(pkt) < 4+9 || pkt[4] != 0xff || binary.LittleEndian.Uint16(pkt[5:]) != erAccessDenied {
		return pkt
	}
	host := "localhost"
	if ta, ok := c.Conn.RemoteAddr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		host = ta.IP.String()
	}
	using := "NO"
	if c.sentPassword {
		using = "YES"
	}
	body := append([]byte{0xff}, pkt[5:7]...)
	body = append(body, pkt[7:13]...) // '#' and SQLSTATE
	body = append(body, fmt.Sprintf("Access denied for user '%s'@'%s' (using password: %s)", c.authUser, host, using)...)
	return append([]byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), pkt[3]}, body...)
}

// readMessage reads the rest of a message whose first packet has size bytes and whose first
// byte was already read, following continuation packets; it answers 1153 past max_allowed_packet.
func (c *shimConn) readMessage(first byte, size int, seq byte) ([]byte, byte, error) {
	payload := make([]byte, size)
	payload[0] = first
	if _, err := io.ReadFull(c.reader(), payload[1:]); err != nil {
		return nil, seq, err
	}
	for size == maxPacketPayload {
		var hdr [4]byte
		if _, err := io.ReadFull(c.reader(), hdr[:]); err != nil {
			return nil, seq, err
		}
		size = int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		seq = hdr[3]
		if len(payload)+size > c.maxPacket {
			return nil, seq, c.tooBig(seq, size)
		}
		n := len(payload)
		payload = append(payload, make([]byte, size)...)
		if _, err := io.ReadFull(c.reader(), payload[n:]); err != nil {
			return nil, seq, err
		}
	}
	return payload, seq, nil
}

// queue hands a message to vitess, split into packets as the protocol wants, numbered from seq.
func (c *shimConn) queue(seq byte, payload []byte) {
	for {
		n := len(payload)
		if n > maxPacketPayload {
			n = maxPacketPayload
		}
		c.pending = append(c.pending, byte(n), byte(n>>8), byte(n>>16), seq)
		c.pending = append(c.pending, payload[:n]...)
		payload = payload[n:]
		seq++
		if n < maxPacketPayload {
			return
		}
	}
}

// prepared is the connection's preparedStatements for checkCommand.
func (c *shimConn) prepared(id uint32) (int, []int32, func(int) bool, bool) {
	if c.vc == nil {
		return 0, nil, nil, false
	}
	ps, ok := c.vc.PrepareData[id]
	if !ok || ps == nil {
		return 0, nil, nil, false
	}
	long := func(i int) bool {
		name := ""
		if i < len(paramNames) {
			name = paramNames[i]
		} else {
			name = fmt.Sprintf("v%d", i+1)
		}
		v, ok := ps.BindVars[name]
		return ok && v != nil
	}
	return int(ps.ParamsCount), ps.ParamsType, long, true
}

// forgetResetLongData removes the parameter a COM_STMT_SEND_LONG_DATA appends to when
// COM_STMT_RESET left it as a nil binding: vitess appends to it without a nil check, and an
// absent binding means the same to it as a nil one (the value is read from the next execute).
func (c *shimConn) forgetResetLongData(p []byte) {
	if c.vc == nil || len(p) < 7 {
		return
	}
	ps, ok := c.vc.PrepareData[binary.LittleEndian.Uint32(p[1:])]
	if !ok || ps == nil || ps.BindVars == nil {
		return
	}
	key := fmt.Sprintf("v%d", int(binary.LittleEndian.Uint16(p[5:]))+1)
	if v, ok := ps.BindVars[key]; ok && v == nil {
		delete(ps.BindVars, key)
	}
}

// answer writes err as an error packet after the client's packet seq; the packet is dropped
// and the connection keeps serving.
func (c *shimConn) answer(seq byte, err error) error {
	if werr := c.writeError(seq+1, err); werr != nil {
		return werr
	}
	return nil
}

// refuseHandshake answers 1043 "Bad handshake", discards skip more bytes and ends the
// connection.
func (c *shimConn) refuseHandshake(seq byte, skip int) error {
	c.discard(skip)
	_ = c.writeError(seq+1, mysql.NewSQLError(erHandshakeError, "08S01", "Bad handshake"))
	return errPacketRefused
}

// tooBig answers 1153, discards the rest of the message (left bytes of the current packet,
// then its continuations) and ends the connection.
func (c *shimConn) tooBig(seq byte, left int) error {
	c.oversize.Store(true)
	more := left == maxPacketPayload
	c.discard(left)
	for more {
		var hdr [4]byte
		if _, err := io.ReadFull(c.reader(), hdr[:]); err != nil {
			break
		}
		size := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		seq, more = hdr[3], size == maxPacketPayload
		c.discard(size)
	}
	_ = c.writeError(seq+1, mysql.NewSQLError(erNetPacketTooBig, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"))
	c.inChain, c.passLeft = false, 0
	return errPacketRefused
}

// discardTimeout bounds how long the shim reads a refused message to its end.
const discardTimeout = 30 * time.Second

// discard reads and drops n bytes, giving up after discardTimeout.
func (c *shimConn) discard(n int) {
	if n <= 0 {
		return
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(discardTimeout))
	defer c.Conn.SetReadDeadline(time.Time{})
	_, _ = io.CopyN(io.Discard, c.reader(), int64(n))
}

// writeError writes err (a *mysql.SQLError, else 1105) as an ERR packet numbered seq.
func (c *shimConn) writeError(seq byte, err error) error {
	code, state, msg := mysql.ERUnknownError, mysql.SSUnknownSQLState, err.Error()
	var se *mysql.SQLError
	if errors.As(err, &se) {
		code, state, msg = se.Number(), se.SQLState(), se.Message
	}
	body := []byte{0xff, byte(code), byte(code >> 8), '#'}
	body = append(body, state...)
	body = append(body, msg...)
	pkt := append([]byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), seq}, body...)
	_, werr := c.wire().Write(pkt)
	return werr
}

// refuse answers the client's packet seq with err and ends the connection.
func (c *shimConn) refuse(seq byte, err error) error {
	_ = c.writeError(seq+1, err)
	return errPacketRefused
}

// erSecureTransportRequired is MySQL's ER_SECURE_TRANSPORT_REQUIRED.
const erSecureTransportRequired = 3159

// offerTLS sets CLIENT_SSL in the server's greeting (HandshakeV10) when TLS is configured:
// vitess offers it only when it does TLS itself.
func (c *shimConn) offerTLS(pkt []byte) {
	if c.tlsCfg == nil || len(pkt) < 5 || pkt[4] != 10 {
		return
	}
	end := bytes.IndexByte(pkt[5:], 0)
	if end < 0 {
		return
	}
	// version NUL, connection id (4), auth data part 1 (8), filler (1), capabilities (2).
	off := 5 + end + 1 + 4 + 8 + 1
	if off+2 > len(pkt) {
		return
	}
	capLow := binary.LittleEndian.Uint16(pkt[off:]) | uint16(mysql.CapabilityClientSSL)
	binary.LittleEndian.PutUint16(pkt[off:], capLow)
}

// startTLS runs the TLS handshake after the client's SSLRequest and reads the handshake
// response that follows inside TLS, which it queues for vitess in place of the SSLRequest
// (vitess never sees the SSLRequest; the shim's sequence numbers are one ahead of vitess's
// until authentication ends, and Read and Write translate them). connect_timeout bounds the
// TLS handshake and the response, as the plain handshake. A failed TLS handshake closes the
// connection; a bad response inside TLS gets 1043.
func (c *shimConn) startTLS() error {
	if c.st != nil {
		c.st.sslAccepts.Add(1)
	}
	tc := tls.Server(bufferedConn{Conn: c.Conn, in: c.in}, c.tlsCfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	if c.st != nil {
		c.st.sslFinishedAccepts.Add(1)
	}
	c.tc.Store(tc)
	c.shift = true
	var hdr [4]byte
	if _, err := io.ReadFull(tc, hdr[:]); err != nil {
		return err
	}
	size := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	seq := hdr[3]
	if size >= maxInspect || seq == 0 {
		return c.refuseHandshake(seq, size)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(tc, payload); err != nil {
		return err
	}
	if len(payload) == 32 || checkHandshakeResponse(payload) != nil {
		return c.refuseHandshake(seq, 0)
	}
	_ = c.Conn.SetReadDeadline(time.Time{}) // connect_timeout no longer applies
	c.noteHandshake(payload)
	c.queue(seq-1, payload)
	c.negotiate.Store(true)
	return nil
}

// endNegotiation ends the window in which RemoteAddr marks the vitess connection as TLS, and
// marks it: vitess writes, or reads past the handshake response, only after it parsed the
// response and chose its auth method. Called on vitess's goroutine only.
func (c *shimConn) endNegotiation() {
	if c.negotiate.Load() && c.vc != nil {
		c.vc.Capabilities |= mysql.CapabilityClientSSL
		c.negotiate.Store(false)
	}
}

// maxAllowedPacket is @@global.max_allowed_packet, MySQL's default when it cannot be read.
func maxAllowedPacket() int {
	if _, v, ok := sql.SystemVariables.GetGlobal("max_allowed_packet"); ok {
		switch n := v.(type) {
		case int64:
			return int(n)
		case uint64:
			return int(n)
		case int:
			return n
		}
	}
	return DefaultMaxAllowedPacket
}

// DefaultMaxAllowedPacket is MySQL 8.0's default @@max_allowed_packet: 64 MB.
const DefaultMaxAllowedPacket = 64 << 20

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
