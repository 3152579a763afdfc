package replica

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/semisyncd/semisyncd/binlog"
)

// scriptedSource is a fake replication source (go-mysql's server side for
// the handshake and queries) whose dump is a script of raw packets: the
// test sees exactly what the IO thread sends back.
type scriptedSource struct {
	t   *testing.T
	l   net.Listener
	srv *server.Server

	mu        sync.Mutex
	queries   []string
	connTimes []time.Time
	failOnce  string // a query that fails on the first connection
	dump      func(c *server.Conn, file string, pos uint32)
}

func newScriptedSource(t *testing.T) *scriptedSource {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedSource{t: t, l: l, srv: server.NewDefaultServer()}
	t.Cleanup(func() { l.Close() })
	go s.accept()
	return s
}

func (s *scriptedSource) port() int { return s.l.Addr().(*net.TCPAddr).Port }

func (s *scriptedSource) accept() {
	for {
		nc, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.connTimes = append(s.connTimes, time.Now())
		first := len(s.connTimes) == 1
		s.mu.Unlock()
		go func() {
			h := &sourceConn{s: s, first: first}
			c, err := s.srv.NewConn(nc, "root", "", h)
			if err != nil {
				nc.Close()
				return
			}
			h.c = c
			for c.HandleCommand() == nil {
			}
		}()
	}
}

func (s *scriptedSource) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *scriptedSource) connections() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.connTimes...)
}

// sourceConn answers one connection's commands.
type sourceConn struct {
	s     *scriptedSource
	c     *server.Conn
	first bool
}

func (h *sourceConn) UseDB(string) error { return nil }

func (h *sourceConn) HandleQuery(q string) (*gmysql.Result, error) {
	h.s.mu.Lock()
	h.s.queries = append(h.s.queries, q)
	fail := h.first && q == h.s.failOnce
	h.s.mu.Unlock()
	if fail {
		return nil, gmysql.NewError(1105, "scripted failure")
	}
	row := func(names []string, values ...any) (*gmysql.Result, error) {
		rs, err := gmysql.BuildSimpleTextResultset(names, [][]any{values})
		if err != nil {
			return nil, err
		}
		return &gmysql.Result{Resultset: rs}, nil
	}
	switch q {
	case "SELECT UNIX_TIMESTAMP(), @@GLOBAL.SERVER_ID":
		return row([]string{"UNIX_TIMESTAMP()", "@@GLOBAL.SERVER_ID"}, time.Now().Unix(), 1)
	case "SELECT @@GLOBAL.SERVER_UUID":
		return row([]string{"@@GLOBAL.SERVER_UUID"}, testSourceUUID)
	case "SELECT @@GLOBAL.BINLOG_CHECKSUM":
		return row([]string{"@@GLOBAL.BINLOG_CHECKSUM"}, "NONE")
	case "SELECT @@global.rpl_semi_sync_source_enabled":
		// An 8.0.25 source: the old plugin only.
		return nil, gmysql.NewError(1193, "Unknown system variable 'rpl_semi_sync_source_enabled'")
	case "SELECT @@global.rpl_semi_sync_master_enabled":
		// Installed but disabled: existence is what counts.
		return row([]string{"@@global.rpl_semi_sync_master_enabled"}, 0)
	}
	if strings.HasPrefix(q, "SET ") {
		return &gmysql.Result{}, nil
	}
	return nil, gmysql.NewError(1064, "unexpected query "+q)
}

func (h *sourceConn) HandleFieldList(string, string) ([]*gmysql.Field, error) { return nil, nil }
func (h *sourceConn) HandleStmtPrepare(string) (int, int, any, error) {
	return 0, 0, nil, gmysql.NewError(1105, "no")
}
func (h *sourceConn) HandleStmtExecute(any, string, []any) (*gmysql.Result, error) {
	return nil, gmysql.NewError(1105, "no")
}
func (h *sourceConn) HandleStmtClose(any) error { return nil }

func (h *sourceConn) HandleOtherCommand(cmd byte, data []byte) error {
	switch cmd {
	case comRegisterSlave:
		return nil
	case comBinlogDump:
		pos := binary.LittleEndian.Uint32(data)
		file := string(data[10:])
		h.s.dump(h.c, file, pos)
		return gmysql.NewError(1105, "dump over")
	}
	return gmysql.NewError(1047, "unknown command")
}

// Raw events as a source with binlog_checksum = NONE sends them.
func bareEvent(typ byte, logPos uint32, flags uint16, body []byte) []byte {
	ev := make([]byte, binlog.HeaderLen, binlog.HeaderLen+len(body))
	ev[4] = typ
	binary.LittleEndian.PutUint32(ev[5:], 1)
	binary.LittleEndian.PutUint32(ev[13:], logPos)
	binary.LittleEndian.PutUint16(ev[17:], flags)
	ev = append(ev, body...)
	binary.LittleEndian.PutUint32(ev[9:], uint32(len(ev)))
	return ev
}

func bareFDE() []byte {
	// A source without checksums (the FDE keeps its own 4 trailing bytes),
	// sent with log_pos 0.
	fde := binlog.FormatDescription(0, 0, 0, 0, false)
	binlog.SetLogPos(fde, 0, true)
	return fde
}

func stripCRC(ev []byte) []byte {
	out := append([]byte(nil), ev[:len(ev)-binlog.ChecksumLen]...)
	binary.LittleEndian.PutUint32(out[9:], uint32(len(out)))
	return out
}

// TestIOThreadAgainstScriptedSource checks the IO thread's side of the
// protocol byte by byte: a failing set-up query is retried after
// SOURCE_CONNECT_RETRY; the semi-sync probe accepts an old-plugin source
// whose plugin is disabled and announces both variables; ACKs carry
// sequence id 0, the flagged event's end position and the file from the
// ROTATE, and the source's next packet (sequence id 1) is accepted;
// heartbeats are not stored; events without a checksum are stored with one.
func TestIOThreadAgainstScriptedSource(t *testing.T) {
	src := newScriptedSource(t)
	src.failOnce = "SET @master_heartbeat_period = 250000000, @source_heartbeat_period = 250000000"
	acks := make(chan string, 4)
	finished := make(chan struct{})
	src.dump = func(c *server.Conn, file string, pos uint32) {
		if file != "" || pos != 4 {
			t.Errorf("dump requested at %q:%d, want the first file at 4", file, pos)
		}
		send := func(ev []byte, flag byte) {
			p := append([]byte{0, 0, 0, 0, 0x00, binlog.SemiSyncMagic, flag}, ev...)
			if err := c.WritePacket(p); err != nil {
				t.Errorf("write: %v", err)
			}
			if flag != 0 {
				c.Sequence = 0 // the ACK comes with sequence id 0
				ack, err := c.ReadPacket()
				if err != nil {
					t.Errorf("reading the ACK: %v", err)
					return
				}
				acks <- fmt.Sprintf("seq-ok %x %d %s", ack[0], binary.LittleEndian.Uint64(ack[1:9]), ack[9:])
				c.Sequence = 1
			}
		}
		rot := binary.LittleEndian.AppendUint64(nil, 4)
		send(bareEvent(binlog.ROTATE_EVENT, 0, binlog.LOG_EVENT_ARTIFICIAL_F, append(rot, "binlog.000042"...)), 0)
		send(bareFDE(), 0)
		send(stripCRC(gtidEv(t, 1, 200)), 0)
		send(stripCRC(queryEv("", "BEGIN", 300)), 0)
		send(stripCRC(xidEv(400)), 1)
		send(bareEvent(binlog.HEARTBEAT_LOG_EVENT, 400, 0, []byte("binlog.000042")), 0)
		send(stripCRC(gtidEv(t, 2, 500)), 0)
		send(stripCRC(queryEv("d", "CREATE TABLE t (a INT)", 600)), 1)
		<-finished
	}

	logger, hook := logtest.NewNullLogger()
	dir := t.TempDir()
	r, err := New(Config{DataDir: dir, ServerID: 2, ServerUUID: "00000000-0000-0000-0000-000000000002", Log: logrus.NewEntry(logger)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer close(finished)
	r.SetSemiSyncEnabled(true)
	host, port, user, retry, hb := "127.0.0.1", src.port(), "root", 1, 0.25
	if err := r.Change(ChangeOptions{Host: &host, Port: &port, User: &user, ConnectRetry: &retry, HeartbeatPeriod: &hb}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(IOThread); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"seq-ok ef 400 binlog.000042", "seq-ok ef 600 binlog.000042"} {
		select {
		case got := <-acks:
			if got != want {
				t.Fatalf("ACK %d: %q, want %q", i+1, got, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no ACK %d; log: %v", i+1, hook.AllEntries())
		}
	}
	waitUntil(t, "both transactions published", func() bool { return r.RelayLog().Retrieved().String() == testSourceUUID+":1-2" })
	if !r.SemiSyncStatus() {
		t.Error("Rpl_semi_sync_replica_status OFF on a semi-sync connection")
	}

	conns := src.connections()
	if len(conns) != 2 || conns[1].Sub(conns[0]) < 900*time.Millisecond {
		t.Fatalf("connections at %v: want a retry after SOURCE_CONNECT_RETRY (1 s)", conns)
	}
	q := strings.Join(src.seen(), "\n")
	for _, want := range []string{
		"SET @master_binlog_checksum = 'NONE', @source_binlog_checksum = 'NONE'",
		"SELECT @@global.rpl_semi_sync_source_enabled\nSELECT @@global.rpl_semi_sync_master_enabled\nSET @rpl_semi_sync_replica = 1, @rpl_semi_sync_slave = 1",
	} {
		if !strings.Contains(q, want) {
			t.Errorf("queries:\n%s\nlack %q", q, want)
		}
	}

	// The relay log: its own header, the source's ROTATE and both
	// transactions, every event with a valid CRC32; no heartbeat.
	fr, err := binlog.OpenFile(r.RelayLog().Path(r.RelayLog().Files()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	var types []byte
	for {
		ev, _, err := fr.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatalf("relay log: %v", err)
			}
			break
		}
		types = append(types, ev[4])
	}
	want := []byte{binlog.FORMAT_DESCRIPTION_EVENT, binlog.PREVIOUS_GTIDS_LOG_EVENT, binlog.ROTATE_EVENT,
		binlog.GTID_LOG_EVENT, binlog.QUERY_EVENT, binlog.XID_EVENT, binlog.GTID_LOG_EVENT, binlog.QUERY_EVENT}
	if string(types) != string(want) {
		t.Fatalf("relay log event types %v, want %v", types, want)
	}
	st, _ := r.Status()
	if st.SourceLogFile != "binlog.000042" || st.ReadSourceLogPos != 600 || st.SourceUUID != testSourceUUID || st.SourceServerID != 1 ||
		st.IORunning != "Yes" || st.LastIOErrno != 0 {
		t.Fatalf("status: %+v", st)
	}
	if err := r.Stop(IOThread); err != nil {
		t.Fatal(err)
	}
	if r.SemiSyncStatus() {
		t.Error("Rpl_semi_sync_replica_status still ON after STOP REPLICA IO_THREAD")
	}
	var sawRetry bool
	for _, e := range hook.AllEntries() {
		if strings.HasPrefix(e.Message, "error connecting to source 'root@127.0.0.1:"+strconv.Itoa(port)+"' - retry-time: 1 retries: 1 message: scripted failure") {
			sawRetry = true
		}
	}
	if !sawRetry {
		t.Error("the failed set-up query was not logged as a connection failure to retry")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 15s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
