package sqlserver

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	vtlog "github.com/dolthub/vitess/go/vt/log"
	"github.com/semisyncd/semisyncd/internal/wireclient"
	"github.com/semisyncd/semisyncd/storage"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// vitessPanics counts the panics vitess's connection handler recovered (it logs them through
// its log.Errorf as "mysql_server caught panic"): the hostile-packet tests assert it stays 0.
var (
	vitessPanics    atomic.Int64
	lastVitessPanic atomic.Value // string: the last one's message and stack
)

func init() {
	prev := vtlog.Errorf
	vtlog.Errorf = func(format string, args ...interface{}) {
		if strings.Contains(format, "caught panic") {
			vitessPanics.Add(1)
			lastVitessPanic.Store(fmt.Sprintf(format, args...))
		}
		prev(format, args...)
	}
}

// wireServer starts a server with a binlog (so dump commands reach the dump service).
func wireServer(t testing.TB) (*Server, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	s, err := New(Config{DataDir: t.TempDir()}, storage.New(storage.Options{}), logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, hook
}

// assertServes checks the server answers a new client at once with a working query.
func assertServes(t testing.TB, s *Server) {
	t.Helper()
	rc := wireclient.Dial(t, s.Addr())
	rc.Login()
	p, err := rc.Command(append([]byte{mysql.ComQuery}, "SELECT 1"...))
	if err != nil || p[0] == 0xff {
		t.Fatalf("a new client's SELECT 1: %x %v", p, err)
	}
}

func noPanics(t testing.TB, hook *logtest.Hook, before int64) {
	t.Helper()
	if n := vitessPanics.Load() - before; n != 0 {
		t.Fatalf("vitess recovered %d panics", n)
	}
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "panic") {
			t.Fatalf("logged: %s %v", e.Message, e.Data)
		}
	}
}

// TestHostileHandshakes: a handshake response vitess would index past its end is answered with
// MySQL's 1043 "Bad handshake", and the server keeps serving.
func TestHostileHandshakes(t *testing.T) {
	s, hook := wireServer(t)
	before := vitessPanics.Load()
	full := wireclient.HandshakeResponse("root")
	lenenc := append([]byte(nil), full...)
	binary.LittleEndian.PutUint32(lenenc, uint32(capProtocol41|capLenencAuthData|capPluginAuth))
	lenenc = append(lenenc[:32], append([]byte("root\x00\xfe"), bytes.Repeat([]byte{0xff}, 8)...)...)
	attrs := append([]byte(nil), full...)
	binary.LittleEndian.PutUint32(attrs, uint32(capProtocol41|capSecureConn|capPluginAuth|capConnAttr))
	attrs = append(attrs, 0x10, 0x7f, 'k')
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"flags only", full[:4]},
		{"cut in the reserved bytes", full[:20]},
		{"no user terminator", append(append([]byte(nil), full[:32]...), "root"...)},
		{"auth length past the end", append(append([]byte(nil), full[:32]...), "root\x00\x40abc"...)},
		{"lenenc auth length of 2^64-1", lenenc},
		{"connection attributes past the end", attrs},
		{"no protocol 4.1", make([]byte, 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := wireclient.Dial(t, s.Addr())
			if err := rc.Write(1, tc.payload); err != nil {
				t.Fatal(err)
			}
			p, seq, err := rc.Read()
			if err != nil {
				t.Fatalf("no error packet: %v", err)
			}
			if code, state, msg := wireclient.ErrOf(p); code != 1043 || state != "08S01" || msg != "Bad handshake" || seq != 2 {
				t.Fatalf("got %d (%s) %q seq %d, want 1043 (08S01) Bad handshake seq 2", code, state, msg, seq)
			}
			if _, _, err := rc.Read(); err == nil {
				t.Fatal("connection still open after a bad handshake")
			}
		})
	}
	noPanics(t, hook, before)
	assertServes(t, s)
}

// TestHostileCommands: command packets vitess would index past their end get MySQL's error
// packet and the connection keeps serving.
func TestHostileCommands(t *testing.T) {
	s, hook := wireServer(t)
	before := vitessPanics.Load()
	rc := wireclient.Dial(t, s.Addr())
	rc.Login()

	// A prepared statement with two parameters, for the COM_STMT_EXECUTE cases.
	stmt := rc.Prepare("SELECT ?, ?")
	exec := func(rest ...byte) []byte {
		p := []byte{mysql.ComStmtExecute}
		p = binary.LittleEndian.AppendUint32(p, stmt)
		p = append(p, 0, 1, 0, 0, 0)
		return append(p, rest...)
	}
	hugeString := exec(append([]byte{0, 1, 0xfd, 0, 0xfd, 0, 0xfe}, bytes.Repeat([]byte{0xff}, 8)...)...)

	sid := bytes.Repeat([]byte{1}, 16)
	badSIDs := binary.LittleEndian.AppendUint64(nil, 1)
	badSIDs = append(badSIDs, sid...)
	badSIDs = binary.LittleEndian.AppendUint64(badSIDs, 1<<40)

	for _, tc := range []struct {
		name    string
		payload []byte
		code    uint16
		msg     string
	}{
		{"empty packet", nil, 1047, "Unknown command"},
		{"COM_BINLOG_DUMP_GTID flags only", []byte{comBinlogDumpGTID, 4}, 1835, "Malformed communication packet."},
		{"COM_BINLOG_DUMP_GTID name past the end", wireclient.DumpGTID(1000, "binlog.000001", 0, nil), 1835, "Malformed communication packet."},
		{"COM_BINLOG_DUMP_GTID SID block past the end", wireclient.DumpGTID(13, "binlog.000001", 500, nil), 1835, "Malformed communication packet."},
		{"COM_BINLOG_DUMP_GTID interval count past the end", wireclient.DumpGTID(13, "binlog.000001", uint32(len(badSIDs)), badSIDs), 1835, "Malformed communication packet."},
		{"COM_BINLOG_DUMP short", []byte{comBinlogDump, 4, 0, 0}, 1835, "Malformed communication packet."},
		{"COM_REGISTER_SLAVE host past the end", []byte{comRegisterSlave, 7, 0, 0, 0, 200, 'h'}, 1835, "Malformed communication packet."},
		{"COM_REGISTER_SLAVE no port", []byte{comRegisterSlave, 7, 0, 0, 0, 0, 0, 0, 1}, 1835, "Malformed communication packet."},
		{"COM_FIELD_LIST without terminator", []byte{mysql.ComFieldList, 't'}, 1835, "Malformed communication packet."},
		{"COM_STMT_EXECUTE cut in the header", []byte{mysql.ComStmtExecute, 1, 0}, 1835, "Malformed communication packet."},
		{"COM_STMT_EXECUTE unknown statement", []byte{mysql.ComStmtExecute, 99, 0, 0, 0, 0, 1, 0, 0, 0}, 1243, "Unknown prepared statement handler (99) given to mysqld_stmt_execute"},
		{"COM_STMT_EXECUTE no NULL bitmap", exec(), 1835, "Malformed communication packet."},
		{"COM_STMT_EXECUTE string of 2^64-1 bytes", hugeString, 1835, "Malformed communication packet."},
		{"COM_STMT_EXECUTE types cut", exec(0, 1, 0xfd), 1835, "Malformed communication packet."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rc.Command(tc.payload)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if code, _, msg := wireclient.ErrOf(p); code != tc.code || msg != tc.msg {
				t.Fatalf("got %d %q (%x), want %d %q", code, msg, p, tc.code, tc.msg)
			}
			p, err = rc.Command([]byte{mysql.ComPing})
			if err != nil || p[0] != 0 {
				t.Fatalf("COM_PING after it: %x %v", p, err)
			}
		})
	}
	noPanics(t, hook, before)
	assertServes(t, s)
}

// TestTooManyPlaceholders: a statement with 65,535 placeholders (which vitess's uint16 bitmap
// size cannot execute) is refused at prepare with 1390, and executing its id gets 1243 instead
// of vitess's panic.
func TestTooManyPlaceholders(t *testing.T) {
	s, hook := wireServer(t)
	before := vitessPanics.Load()
	rc := wireclient.Dial(t, s.Addr())
	rc.Login()
	for _, n := range []int{65535, 65540} {
		q := "SELECT 1 FROM dual WHERE 1 IN (?" + strings.Repeat(",?", n-1) + ")"
		p, err := rc.Command(append([]byte{mysql.ComPrepare}, q...))
		if err != nil {
			t.Fatal(err)
		}
		if code, _, msg := wireclient.ErrOf(p); code != 1390 || msg != "Prepared statement contains too many placeholders" {
			t.Fatalf("%d placeholders: %d %q", n, code, msg)
		}
	}
	for id := uint32(1); id <= 2; id++ {
		p := []byte{mysql.ComStmtExecute}
		p = binary.LittleEndian.AppendUint32(p, id)
		p = append(p, 0, 1, 0, 0, 0)
		p = append(p, make([]byte, 8192)...)
		p = append(p, 1)
		p = append(p, bytes.Repeat([]byte{8, 0}, 65535)...)
		r, err := rc.Command(p)
		if err != nil {
			t.Fatal(err)
		}
		if code, _, msg := wireclient.ErrOf(r); code != 1243 || msg != fmt.Sprintf("Unknown prepared statement handler (%d) given to mysqld_stmt_execute", id) {
			t.Fatalf("execute %d: %d %q", id, code, msg)
		}
	}
	noPanics(t, hook, before)
	assertServes(t, s)
}

// TestMaxAllowedPacket: MySQL's 64 MB default, and a message past the connection's
// max_allowed_packet is answered with 1153 and the connection closed.
func TestMaxAllowedPacket(t *testing.T) {
	s, hook := wireServer(t)
	db := open(t, dsn(s, "root", ""))
	var v int64
	if err := db.QueryRow("SELECT @@max_allowed_packet").Scan(&v); err != nil || v != DefaultMaxAllowedPacket {
		t.Fatalf("@@max_allowed_packet = %d %v, want %d", v, err, DefaultMaxAllowedPacket)
	}
	if _, err := db.Exec("SET GLOBAL max_allowed_packet = 1048576"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("SET GLOBAL max_allowed_packet = DEFAULT") })
	for _, size := range []int{2 << 20, 20 << 20} { // one packet, and a multi-packet message
		rc := wireclient.Dial(t, s.Addr())
		rc.Login()
		q := append([]byte{mysql.ComQuery}, "SELECT '"...)
		q = append(q, bytes.Repeat([]byte{'a'}, size)...)
		q = append(q, '\'')
		p, err := rc.Command(q)
		if err != nil {
			t.Fatalf("%d bytes: no error packet: %v", size, err)
		}
		if code, state, msg := wireclient.ErrOf(p); code != 1153 || state != "08S01" || msg != "Got a packet bigger than 'max_allowed_packet' bytes" {
			t.Fatalf("%d bytes: %d (%s) %q", size, code, state, msg)
		}
		if _, _, err := rc.Read(); err == nil {
			t.Fatal("connection still open after 1153")
		}
	}
	// Under the limit, the same connection setting works.
	rc := wireclient.Dial(t, s.Addr())
	rc.Login()
	p, err := rc.Command(append([]byte{mysql.ComQuery}, "SELECT '"+strings.Repeat("a", 500<<10)+"'"...))
	if err != nil || p[0] == 0xff {
		t.Fatalf("500 KB query: %x %v", p[:1], err)
	}
	noPanics(t, hook, 0)
}

// FuzzHandshakeResponse sends arbitrary bytes as the client's handshake response: the server
// answers with an error packet or OK, never a panic, and keeps serving.
func FuzzHandshakeResponse(f *testing.F) {
	f.Add(wireclient.HandshakeResponse("root"))
	f.Add(wireclient.HandshakeResponse("root")[:36])
	f.Add([]byte{0x00, 0x02, 0x00, 0x00})
	s, _ := wireServer(f)
	before := vitessPanics.Load()
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 4096 {
			return
		}
		rc := wireclient.Dial(t, s.Addr())
		_ = rc.Write(1, payload)
		_ = rc.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, _ = rc.Read()
		rc.Conn.Close()
		if n := vitessPanics.Load() - before; n != 0 {
			t.Fatalf("vitess recovered %d panics (the last on %x or before): %v", n, payload, lastVitessPanic.Load())
		}
	})
}

// FuzzCommand sends arbitrary command packets on an authenticated connection holding a
// prepared statement with two parameters: each is answered, never a panic.
func FuzzCommand(f *testing.F) {
	f.Add([]byte{mysql.ComPing})
	f.Add(wireclient.DumpGTID(13, "binlog.000001", 8, make([]byte, 8)))
	f.Add([]byte{comRegisterSlave, 7, 0, 0, 0, 1, 'h', 0, 0, 0x10, 0x27, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{mysql.ComStmtExecute, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0xfd, 0, 8, 0, 1, 'a', 7, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{mysql.ComStmtSendLongData, 1, 0, 0, 0, 0, 0, 'x'})
	s, _ := wireServer(f)
	before := vitessPanics.Load()
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 4096 {
			return
		}
		rc := wireclient.Dial(t, s.Addr())
		rc.Login()
		rc.Prepare("SELECT ?, ?")
		// A well-formed dump streams until the client leaves: the first reply is enough.
		_ = rc.Conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_ = rc.Write(0, payload)
		_, _, _ = rc.Read()
		rc.Conn.Close()
		if n := vitessPanics.Load() - before; n != 0 {
			t.Fatalf("vitess recovered %d panics (the last on %x or before): %v", n, payload, lastVitessPanic.Load())
		}
	})
}

// FuzzReplicationCommand sends arbitrary COM_BINLOG_DUMP, COM_BINLOG_DUMP_GTID and
// COM_REGISTER_SLAVE bodies (cmd picks the command) on an authenticated connection: the shim's
// checks and rewrites, vitess's parsers and the dump service answer each (an error, OK, or the
// binlog stream), never with a panic.
func FuzzReplicationCommand(f *testing.F) {
	f.Add(byte(0), wireclient.Dump(7, "binlog.000001", 4)[1:])
	f.Add(byte(1), wireclient.DumpGTID(13, "binlog.000001", 8, make([]byte, 8))[1:])
	f.Add(byte(2), wireclient.RegisterSlave(7, "h", 3307)[1:])
	s, _ := wireServer(f)
	before := vitessPanics.Load()
	cmds := []byte{comBinlogDump, comBinlogDumpGTID, comRegisterSlave}
	f.Fuzz(func(t *testing.T, cmd byte, body []byte) {
		if len(body) > 4096 {
			return
		}
		payload := append([]byte{cmds[int(cmd)%len(cmds)]}, body...)
		rc := wireclient.Dial(t, s.Addr())
		rc.Login()
		_ = rc.Conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_ = rc.Write(0, payload)
		_, _, _ = rc.Read()
		rc.Conn.Close()
		if n := vitessPanics.Load() - before; n != 0 {
			t.Fatalf("vitess recovered %d panics (the last on %x or before): %v", n, payload, lastVitessPanic.Load())
		}
	})
}

// TestConnectTimeout: a client that never sends its handshake response is closed after
// connect_timeout.
func TestConnectTimeout(t *testing.T) {
	s, _ := wireServer(t)
	db := open(t, dsn(s, "root", ""))
	if _, err := db.Exec("SET GLOBAL connect_timeout = 2"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("SET GLOBAL connect_timeout = DEFAULT") })
	silent := wireclient.Dial(t, s.Addr()) // read deadline 20 s: the server must close first
	if _, _, err := silent.Read(); err == nil {
		t.Fatal("a client that sent no handshake got a packet instead of a close")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a silent client past connect_timeout")
	}
	assertServes(t, s)
}

// TestAccessDeniedText: a refused login gets MySQL's 1045 text naming the account's host and
// whether a password was sent.
func TestAccessDeniedText(t *testing.T) {
	s, _ := wireServer(t)
	root := open(t, dsn(s, "root", ""))
	if _, err := root.Exec("CREATE USER u@'%' IDENTIFIED BY 'pw'"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ password, want string }{
		{"wrong", "Error 1045 (28000): Access denied for user 'u'@'localhost' (using password: YES)"},
		{"", "Error 1045 (28000): Access denied for user 'u'@'localhost' (using password: NO)"},
	} {
		err := open(t, dsn(s, "u", tc.password)).Ping()
		if err == nil || err.Error() != tc.want {
			t.Errorf("password %q: %v, want %s", tc.password, err, tc.want)
		}
	}
	if err := open(t, dsn(s, "u", "pw")).Ping(); err != nil {
		t.Fatalf("the right password: %v", err)
	}
}
