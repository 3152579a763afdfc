package replica

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/sirupsen/logrus"
)

// The IO thread (MySQL's receiver): it connects to the source, asks it for
// the binlog from where the relay log ends, and writes every event it
// receives to the relay log. On a semi-sync connection it acknowledges
// each event the source flags — after the relay log flush, never before.
//
// Protocol steps, in MySQL 8.0.26+'s order (docs/semisync.md §4):
//
//	SELECT UNIX_TIMESTAMP(), @@GLOBAL.SERVER_ID   clock skew; equal ids → 13117
//	SELECT @@GLOBAL.SERVER_UUID                   equal UUIDs → 13117
//	SELECT @@GLOBAL.BINLOG_CHECKSUM               then SET @source_binlog_checksum
//	                                              and @master_binlog_checksum to it
//	SET @master_heartbeat_period, @source_heartbeat_period (ns)
//	SELECT @@global.rpl_semi_sync_source_enabled  only when the replica side is
//	  (on 1193: …_master_enabled)                 enabled; 1193 on both: async
//	SET @rpl_semi_sync_replica = 1, @rpl_semi_sync_slave = 1
//	COM_REGISTER_SLAVE (0x15)
//	COM_BINLOG_DUMP (0x12) or COM_BINLOG_DUMP_GTID (0x1e, flag 0x04)
//
// Every event packet is 0x00 + [0xEF flag] + event. After a flagged packet
// the replica ACKs with sequence id 0 (0xEF, u64 position, file name) and
// expects the source's next packet with sequence id 1.

// Packet bytes and commands.
const (
	comRegisterSlave   = 0x15
	comBinlogDump      = 0x12
	comBinlogDumpGTID  = 0x1e
	binlogThroughGTID  = 0x04
	errUnknownSysVar   = 1193
	crConnHostError    = 2003 // CR_CONN_HOST_ERROR
	erSourceFatalRead  = 13114
	erEqualServerIDs   = 13117
	erRelayWriteFail   = 1595 // ER_REPLICA_RELAY_LOG_WRITE_FAILURE
	erNetChecksumFail  = 1743
	erReplicaFatal     = 1593
	ackHeaderOverhead  = 9
	defaultDialTimeout = 10 * time.Second
)

// ioThread is one run of the IO thread (START REPLICA to STOP REPLICA).
type ioThread struct {
	r     *Replica
	src   SourceConfig
	relay RelayWriter
	log   *logrus.Entry

	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}

	connMu sync.Mutex
	conn   net.Conn // the socket of the current connection, closed by stop

	// Per connection.
	semi      bool
	checksum  bool            // events on the wire carry a CRC32
	srcPos    binlog.Position // source position after the last event
	tt        txTracker
	gtid      *binlog.GTIDEvent
	connected bool // a connection succeeded since START (reconnect wording)
}

// fatalError stops the IO thread (no retry), with the Last_IO_Errno/Error
// to show.
type fatalError struct {
	code int
	msg  string
}

func (e *fatalError) Error() string { return e.msg }

func newIOThread(r *Replica, src SourceConfig, relay RelayWriter) *ioThread {
	return &ioThread{
		r: r, src: src, relay: relay,
		log:    r.log.WithFields(logrus.Fields{"thread": "io", "source": net.JoinHostPort(src.Host, strconv.Itoa(src.Port))}),
		stopCh: make(chan struct{}), done: make(chan struct{}),
	}
}

func (t *ioThread) stopped() bool {
	select {
	case <-t.stopCh:
		return true
	default:
		return false
	}
}

// stopAndWait ends the thread: the connection is closed (a blocked read
// returns) and the thread exits.
func (t *ioThread) stopAndWait() {
	t.stopOnce.Do(func() { close(t.stopCh) })
	t.connMu.Lock()
	if t.conn != nil {
		_ = t.conn.Close()
	}
	t.connMu.Unlock()
	<-t.done
}

func (t *ioThread) sourceName() string {
	return fmt.Sprintf("%s@%s", t.src.User, net.JoinHostPort(t.src.Host, strconv.Itoa(t.src.Port)))
}

// run is the thread: connect, stream, reconnect, until stopped or a fatal
// error.
func (t *ioThread) run() {
	defer close(t.done)
	defer t.r.ioEnded(t)
	t.log.Info("replica I/O thread started")
	defer t.log.Info("replica I/O thread exiting")
	attempts := 0
	for !t.stopped() {
		t.r.ioUpdate(func(s *ioStatus) {
			s.running = "Connecting"
			if t.connected {
				s.state = "Reconnecting after a failed source event read"
			} else {
				s.state = "Connecting to source"
			}
		})
		conn, err := t.connect()
		if err == nil {
			var streamed bool
			streamed, err = t.stream(conn)
			t.closeConn(conn)
			t.r.setSemiSyncStatus(false)
			if t.stopped() {
				return
			}
			if streamed {
				var fe *fatalError
				if errors.As(err, &fe) {
					t.fail(fe.code, fe.msg)
					return
				}
				attempts = 0
				t.log.WithError(err).Warn("error reading packet from source; reconnecting")
				continue // the first reconnection attempt is immediate
			}
			// The set-up queries, the registration or the dump request
			// failed: retried like a failed connection.
		}
		if t.stopped() {
			return
		}
		var fe *fatalError
		if errors.As(err, &fe) {
			t.fail(fe.code, fe.msg)
			return
		}
		attempts++
		verb := "connecting"
		if t.connected {
			verb = "reconnecting"
		}
		code := errCode(err)
		if code == 0 {
			code = crConnHostError
		}
		msg := fmt.Sprintf("error %s to source '%s' - retry-time: %d retries: %d message: %s", verb, t.sourceName(), t.src.ConnectRetry, attempts, errMessage(err))
		t.log.WithFields(logrus.Fields{"errno": code, "attempt": attempts}).Warn(msg)
		t.r.ioUpdate(func(s *ioStatus) {
			s.errno, s.err, s.errTime = code, msg, time.Now()
			s.state = "Waiting to reconnect after a failed source event read"
		})
		if attempts > t.src.RetryCount {
			t.log.WithField("retry_count", t.src.RetryCount).Error("replica I/O thread gives up: retry count exhausted")
			return
		}
		select {
		case <-t.stopCh:
			return
		case <-time.After(time.Duration(t.src.ConnectRetry) * time.Second):
		}
	}
}

// fail records a fatal error; the thread then ends.
func (t *ioThread) fail(code int, msg string) {
	t.log.WithField("errno", code).Error(msg)
	t.r.ioUpdate(func(s *ioStatus) { s.errno, s.err, s.errTime = code, msg, time.Now() })
}

func (t *ioThread) closeConn(c *client.Conn) {
	t.connMu.Lock()
	t.conn = nil
	t.connMu.Unlock()
	_ = c.Close()
}

// connect opens and authenticates a connection; its socket is registered
// so stopAndWait can close it at any moment.
func (t *ioThread) connect() (*client.Conn, error) {
	timeout := time.Duration(t.r.netTimeout.Load()) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), defaultDialTimeout)
	defer cancel()
	go func() {
		select {
		case <-t.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{Timeout: defaultDialTimeout}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		t.connMu.Lock()
		t.conn = nc
		stopped := t.stopped()
		t.connMu.Unlock()
		if stopped {
			nc.Close()
			return nil, errors.New("replica: stopped")
		}
		// The handshake is bounded; stream sets the read timeout after.
		_ = nc.SetDeadline(time.Now().Add(timeout))
		return nc, nil
	}
	addr := net.JoinHostPort(t.src.Host, strconv.Itoa(t.src.Port))
	tlsCfg, err := t.src.tlsConfig(t.r.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	c, err := client.ConnectWithDialer(ctx, "tcp", addr, t.src.User, t.src.Password, "", dial, func(c *client.Conn) error {
		c.ReadTimeout = timeout
		if tlsCfg != nil {
			c.SetTLSConfig(tlsCfg)
		}
		return nil
	})
	if err != nil {
		if tlsCfg != nil {
			err = sslError(err)
		}
		t.connMu.Lock()
		if t.conn != nil {
			_ = t.conn.Close()
			t.conn = nil
		}
		t.connMu.Unlock()
		return nil, err
	}
	t.connMu.Lock()
	if t.conn != nil {
		_ = t.conn.SetDeadline(time.Time{})
	}
	t.connMu.Unlock()
	return c, nil
}

// query runs one statement on the source.
func query(c *client.Conn, q string) (*gmysql.Result, error) {
	res, err := c.Execute(q)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errCode returns the MySQL error number of a go-mysql error, or 0.
func errCode(err error) int {
	var me *gmysql.MyError
	if errors.As(err, &me) {
		return int(me.Code)
	}
	for e := err; e != nil; {
		if me, ok := e.(*gmysql.MyError); ok {
			return int(me.Code)
		}
		c, ok := e.(interface{ Cause() error })
		if !ok {
			break
		}
		next := c.Cause()
		if next == e {
			break
		}
		e = next
	}
	return 0
}

// errMessage is the text of a go-mysql error without its wrapping.
func errMessage(err error) string {
	var me *gmysql.MyError
	if errors.As(err, &me) {
		return me.Message
	}
	for e := err; e != nil; {
		if me, ok := e.(*gmysql.MyError); ok {
			return me.Message
		}
		c, ok := e.(interface{ Cause() error })
		if !ok {
			break
		}
		next := c.Cause()
		if next == e {
			break
		}
		e = next
	}
	return err.Error()
}

// handshake runs the set-up queries, registers and sends the dump command.
func (t *ioThread) handshake(c *client.Conn) error {
	// Identity and clock.
	res, err := query(c, "SELECT UNIX_TIMESTAMP(), @@GLOBAL.SERVER_ID")
	if err != nil {
		return err
	}
	var sourceID uint32
	if res.Resultset != nil && res.RowNumber() > 0 {
		if ts, err := res.GetInt(0, 0); err == nil {
			lag := time.Now().Unix() - ts
			t.r.ioUpdate(func(s *ioStatus) { s.clockLag = lag })
		}
		if id, err := res.GetUint(0, 1); err == nil {
			sourceID = uint32(id)
		}
	}
	if sourceID != 0 && sourceID == t.r.cfg.ServerID {
		return &fatalError{erEqualServerIDs, "Fatal error: The replica I/O thread stops because source and replica have equal MySQL server ids; these ids must be different for replication to work (or the --replicate-same-server-id option must be used on replica but this does not always make sense; please check the manual before using it)."}
	}
	var sourceUUID string
	if res, err := query(c, "SELECT @@GLOBAL.SERVER_UUID"); err == nil {
		if res.Resultset != nil && res.RowNumber() > 0 {
			sourceUUID, _ = res.GetString(0, 0)
		}
	} else if errCode(err) != errUnknownSysVar {
		return err
	}
	if sourceUUID != "" && strings.EqualFold(sourceUUID, t.r.cfg.ServerUUID) {
		return &fatalError{erEqualServerIDs, "Fatal error: The replica I/O thread stops because source and replica have equal MySQL server UUIDs; these UUIDs must be different for replication to work."}
	}
	t.r.setSourceIdentity(sourceUUID, sourceID)

	// Checksums: announce the source's own algorithm, so every event, made
	// up or read from its files, arrives as it would be stored.
	alg := "NONE"
	if res, err := query(c, "SELECT @@GLOBAL.BINLOG_CHECKSUM"); err == nil {
		if res.Resultset != nil && res.RowNumber() > 0 {
			alg, _ = res.GetString(0, 0)
		}
	} else if errCode(err) != errUnknownSysVar {
		return err
	}
	alg = strings.ToUpper(strings.TrimSpace(alg))
	if alg != "CRC32" {
		alg = "NONE"
	}
	if _, err := query(c, fmt.Sprintf("SET @master_binlog_checksum = '%s', @source_binlog_checksum = '%s'", alg, alg)); err != nil {
		return err
	}
	t.checksum = alg == "CRC32"

	if p := t.src.HeartbeatPeriod; p > 0 {
		ns := uint64(p * 1e9)
		if _, err := query(c, fmt.Sprintf("SET @master_heartbeat_period = %d, @source_heartbeat_period = %d", ns, ns)); err != nil {
			return err
		}
	}

	// Semi-sync: probe for the source plugin (existence, not value).
	t.semi = false
	if t.r.SemiSyncEnabled() {
		_, err := query(c, "SELECT @@global.rpl_semi_sync_source_enabled")
		if errCode(err) == errUnknownSysVar {
			_, err = query(c, "SELECT @@global.rpl_semi_sync_master_enabled")
		}
		switch {
		case err == nil:
			if _, err := query(c, "SET @rpl_semi_sync_replica = 1, @rpl_semi_sync_slave = 1"); err != nil {
				t.log.WithError(err).Error("Set 'rpl_semi_sync_replica=1' on source failed")
				return err
			}
			t.semi = true
		case errCode(err) == errUnknownSysVar:
			t.log.Warn("Source server does not support semi-sync, fallback to asynchronous replication")
		default:
			t.log.WithError(err).Error("Execution failed on source: SELECT @@global.rpl_semi_sync_source_enabled")
			return err
		}
	}

	// Register, then dump.
	reg := []byte{0, 0, 0, 0, comRegisterSlave}
	reg = binary.LittleEndian.AppendUint32(reg, t.r.cfg.ServerID)
	reg = append(reg, 0, 0, 0) // report host, user, password: empty
	reg = binary.LittleEndian.AppendUint16(reg, uint16(t.r.cfg.ReportPort))
	reg = binary.LittleEndian.AppendUint32(reg, 0) // replication rank
	reg = binary.LittleEndian.AppendUint32(reg, 0) // source id
	c.ResetSequence()
	if err := c.WritePacket(reg); err != nil {
		return err
	}
	if _, err := c.ReadOKPacket(); err != nil {
		return err
	}

	start := t.relay.SourcePos()
	var dump []byte
	if t.src.AutoPosition {
		gtids := t.r.executed()
		gtids.Union(t.relay.Retrieved())
		block := gtids.SIDBlock()
		dump = []byte{0, 0, 0, 0, comBinlogDumpGTID}
		dump = binary.LittleEndian.AppendUint16(dump, binlogThroughGTID)
		dump = binary.LittleEndian.AppendUint32(dump, t.r.cfg.ServerID)
		dump = binary.LittleEndian.AppendUint32(dump, 0) // no file name
		dump = binary.LittleEndian.AppendUint64(dump, binlog.FileHeaderLen)
		dump = binary.LittleEndian.AppendUint32(dump, uint32(len(block)))
		dump = append(dump, block...)
		t.log.WithField("gtids", gtids.String()).Info("requesting the binlog by GTID auto-position")
	} else {
		if start.Pos < binlog.FileHeaderLen {
			start.Pos = binlog.FileHeaderLen
		}
		dump = []byte{0, 0, 0, 0, comBinlogDump}
		dump = binary.LittleEndian.AppendUint32(dump, uint32(start.Pos))
		dump = binary.LittleEndian.AppendUint16(dump, 0)
		dump = binary.LittleEndian.AppendUint32(dump, t.r.cfg.ServerID)
		dump = append(dump, start.File...)
		t.log.WithFields(logrus.Fields{"source_log_file": start.File, "source_log_pos": start.Pos}).Info("requesting the binlog")
	}
	c.ResetSequence()
	if err := c.WritePacket(dump); err != nil {
		return err
	}
	t.srcPos = start
	t.tt = txTracker{}
	t.gtid = nil
	return nil
}

// stream does the handshake and then receives events until the connection
// fails or the thread is stopped. streamed reports whether the dump was
// requested (a failure before is retried like a failed connection).
func (t *ioThread) stream(c *client.Conn) (streamed bool, err error) {
	// The dump resumes at the relay log's last complete transaction:
	// whatever a previous connection (or a stopped thread) left of a
	// partial one goes.
	if err := t.relay.Discard(); err != nil {
		return false, t.relayWriteFailure(err)
	}
	if err := t.handshake(c); err != nil {
		return false, err
	}
	return true, t.receive(c)
}

// receive reads the dump's packets until an error.
func (t *ioThread) receive(c *client.Conn) error {
	t.connected = true
	t.r.setSemiSyncStatus(t.semi)
	if t.semi {
		t.log.WithFields(logrus.Fields{"source_log_file": t.srcPos.File, "source_log_pos": t.srcPos.Pos}).
			Infof("Replica I/O thread: Start semi-sync replication to source '%s' in log '%s' at position %d", t.sourceName(), t.srcPos.File, t.srcPos.Pos)
	} else {
		t.log.Info("Replica I/O thread: connected to source, replication started")
	}
	t.r.ioUpdate(func(s *ioStatus) {
		s.running, s.state = "Yes", "Waiting for source to send event"
		s.errno, s.err, s.errTime = 0, "", time.Time{}
	})
	for {
		data, err := c.ReadPacket()
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return &fatalError{erRelayWriteFail, "Relay log write failure: could not queue event from source (empty packet)"}
		}
		switch data[0] {
		case 0x00:
		case 0xff:
			e := c.HandleErrorPacket(data)
			code, msg := errCode(e), errMessage(e)
			switch code {
			case 1053, 1317, 1927: // shutdown, interrupted, killed: reconnect
				return e
			}
			return &fatalError{erSourceFatalRead, fmt.Sprintf("Got fatal error %d from source when reading data from binary log: '%s'", code, msg)}
		case 0xfe:
			if len(data) < 9 {
				return errors.New("the source ended the binlog dump")
			}
			fallthrough
		default:
			return &fatalError{erRelayWriteFail, fmt.Sprintf("Relay log write failure: could not queue event from source (packet starts with 0x%02x)", data[0])}
		}
		ev := data[1:]
		flagged := false
		if t.semi {
			if len(ev) < 2 || ev[0] != binlog.SemiSyncMagic {
				t.log.Errorf("Missing magic number for semi-sync packet, packet len: %d", len(data))
				return &fatalError{erReplicaFatal, "Fatal error: Failed to run 'after_read_event' hook"}
			}
			flagged = ev[1]&binlog.SemiSyncFlagSync != 0
			ev = ev[2:]
		}
		if err := t.queue(ev, flagged); err != nil {
			return err
		}
		if flagged {
			t.ack(c)
		}
	}
}

// queue writes one received event to the relay log, flushing at
// transaction boundaries and before any ACK.
func (t *ioThread) queue(ev []byte, flagged bool) error {
	h, err := binlog.ParseHeader(ev)
	if err != nil {
		return &fatalError{erRelayWriteFail, "Relay log write failure: could not queue event from source: " + err.Error()}
	}
	switch h.Type {
	case binlog.HEARTBEAT_LOG_EVENT:
		return nil
	case binlog.FORMAT_DESCRIPTION_EVENT:
		// The source's own format: it says whether the events that follow
		// carry a checksum. The relay log has its own.
		t.checksum = fdeChecksum(ev)
		return t.flushIf(flagged)
	case binlog.PREVIOUS_GTIDS_LOG_EVENT, binlog.STOP_EVENT:
		return t.flushIf(flagged)
	}
	stored, err := withChecksum(ev, t.checksum)
	if err != nil {
		if errors.Is(err, binlog.ErrChecksum) {
			return &fatalError{erNetChecksumFail, "Replication event checksum verification failed while reading from network."}
		}
		return &fatalError{erRelayWriteFail, "Relay log write failure: could not queue event from source: " + err.Error()}
	}
	body := binlog.EventBody(stored, true)
	switch h.Type {
	case binlog.ROTATE_EVENT:
		rp, err := binlog.ParseRotate(body)
		if err != nil {
			return &fatalError{erRelayWriteFail, "Relay log write failure: could not queue event from source: " + err.Error()}
		}
		t.srcPos = rp
	case binlog.GTID_LOG_EVENT:
		if g, err := binlog.ParseGTID(body); err == nil {
			t.gtid = &g
		}
		fallthrough
	default:
		if h.LogPos != 0 {
			t.srcPos.Pos = uint64(h.LogPos)
		}
	}
	if err := t.relay.Append(stored); err != nil {
		return t.relayWriteFailure(err)
	}
	read := t.srcPos
	t.r.ioUpdate(func(s *ioStatus) { s.read = read })
	boundary := t.tt.Feed(h.Type, body)
	if boundary {
		t.relay.MarkBoundary(t.srcPos, t.gtid)
		t.gtid = nil
	}
	return t.flushIf(boundary || flagged)
}

func (t *ioThread) flushIf(cond bool) error {
	if !cond {
		return nil
	}
	if err := t.relay.Flush(); err != nil {
		return t.relayWriteFailure(err)
	}
	return nil
}

// relayWriteFailure is the IO thread's stop on a failed relay-log write,
// fsync or truncation: Last_IO_Errno 1595 with MySQL's text (queue_event's
// caller in MySQL 8.0's rpl_replica.cc), the system error in the log.
// Nothing the failure touched was published, so it was never ACKed; START
// REPLICA discards it and asks the source again from the last published
// boundary.
func (t *ioThread) relayWriteFailure(err error) error {
	t.log.WithError(err).Error("relay log write failed")
	return &fatalError{erRelayWriteFail, relayWriteFailureText}
}

// relayWriteFailureText is MySQL 8.0's Last_IO_Error for a relay-log write
// failure (8.0.26 renamed "master" to "source" in it).
const relayWriteFailureText = "Relay log write failure: could not queue event from source"

// ack sends the semi-sync ACK for the flagged event just queued and
// flushed: sequence id 0, then the source continues with 1. A failed ACK
// is logged; the stream goes on (the source times out on its side).
func (t *ioThread) ack(c *client.Conn) {
	p := make([]byte, 4, 4+ackHeaderOverhead+len(t.srcPos.File))
	p = append(p, binlog.SemiSyncMagic)
	p = binary.LittleEndian.AppendUint64(p, t.srcPos.Pos)
	p = append(p, t.srcPos.File...)
	c.ResetSequence()
	if err := c.WritePacket(p); err != nil {
		t.log.WithError(err).Warn("Semi-sync replica net_flush() reply failed")
	}
	c.Sequence = 1
}
