// Package wireclient is a hand-driven MySQL client for tests: it sends exactly the bytes a test
// gives it, so tests can send what no driver would (truncated handshakes, malformed commands,
// oversize packets) and read the server's raw answer.
package wireclient

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
)

// MaxPacketPayload is the largest payload of one protocol packet; a message this long
// continues in the next packet.
const MaxPacketPayload = 0xffffff

// Command bytes vitess has no constant for.
const (
	ComBinlogDump     = 0x12
	ComRegisterSlave  = 0x15
	ComBinlogDumpGTID = 0x1e
	BinlogThroughGTID = 0x04 // COM_BINLOG_DUMP_GTID flag: the GTID set follows
)

// Conn is one raw client connection. Its methods fail the test through T on errors they
// cannot report.
type Conn struct {
	T    testing.TB
	Conn net.Conn
}

// Dial connects to addr, reads the server's greeting and closes the connection when the test
// ends. Reads and writes have a 20 s deadline, so a server that never answers fails the test
// instead of hanging it.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &Conn{T: t, Conn: c}
	t.Cleanup(func() { c.Close() })
	if _, _, err := rc.Read(); err != nil { // the server's greeting
		t.Fatalf("greeting: %v", err)
	}
	return rc
}

// Write sends payload as one message numbered from seq, split into packets of at most
// MaxPacketPayload bytes.
func (rc *Conn) Write(seq byte, payload []byte) error {
	for {
		n := len(payload)
		if n > MaxPacketPayload {
			n = MaxPacketPayload
		}
		if _, err := rc.Conn.Write(append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload[:n]...)); err != nil {
			return err
		}
		payload, seq = payload[n:], seq+1
		if n < MaxPacketPayload {
			return nil
		}
	}
}

// Read reads one packet: its payload and sequence number.
func (rc *Conn) Read() ([]byte, byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(rc.Conn, hdr[:]); err != nil {
		return nil, 0, err
	}
	p := make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
	_, err := io.ReadFull(rc.Conn, p)
	return p, hdr[3], err
}

// HandshakeResponse is a HandshakeResponse41 for user with an empty password.
func HandshakeResponse(user string) []byte {
	flags := mysql.CapabilityClientProtocol41 | mysql.CapabilityClientSecureConnection | mysql.CapabilityClientPluginAuth
	p := binary.LittleEndian.AppendUint32(nil, uint32(flags))
	p = binary.LittleEndian.AppendUint32(p, 1<<24)
	p = append(p, 33)
	p = append(p, make([]byte, 23)...)
	p = append(p, user...)
	p = append(p, 0, 0) // NUL, empty auth response
	p = append(p, "mysql_native_password"...)
	return append(p, 0)
}

// Login authenticates as root with no password.
func (rc *Conn) Login() {
	rc.T.Helper()
	rc.LoginWith(HandshakeResponse("root"))
}

// LoginWith authenticates with the handshake response hr (for an account with no password).
func (rc *Conn) LoginWith(hr []byte) {
	rc.T.Helper()
	if err := rc.Write(1, hr); err != nil {
		rc.T.Fatal(err)
	}
	for {
		p, seq, err := rc.Read()
		if err != nil {
			rc.T.Fatalf("login: %v", err)
		}
		switch p[0] {
		case 0x00:
			return
		case 0xfe: // auth switch: answer with an empty response
			if err := rc.Write(seq+1, nil); err != nil {
				rc.T.Fatal(err)
			}
		case 0x01: // more data (caching_sha2 fast auth result)
		default:
			rc.T.Fatalf("login answered %x", p)
		}
	}
}

// Prepare prepares query and reads the whole answer; it returns the statement id.
func (rc *Conn) Prepare(query string) uint32 {
	rc.T.Helper()
	p, err := rc.Command(append([]byte{mysql.ComPrepare}, query...))
	if err != nil || len(p) < 9 || p[0] != 0 {
		rc.T.Fatalf("prepare %q: %x %v", query, p, err)
	}
	nCols, nParams := int(binary.LittleEndian.Uint16(p[5:])), int(binary.LittleEndian.Uint16(p[7:]))
	for _, n := range []int{nParams, nCols} { // definitions, each block ended by an EOF
		if n == 0 {
			continue
		}
		for i := 0; i <= n; i++ {
			if _, _, err := rc.Read(); err != nil {
				rc.T.Fatal(err)
			}
		}
	}
	return binary.LittleEndian.Uint32(p[1:])
}

// Command sends a command packet and returns the reply's first packet.
func (rc *Conn) Command(payload []byte) ([]byte, error) {
	if err := rc.Write(0, payload); err != nil {
		return nil, err
	}
	p, _, err := rc.Read()
	return p, err
}

// ErrOf decodes an ERR packet into its number, SQLSTATE and message; 0 when p is not one.
func ErrOf(p []byte) (uint16, string, string) {
	if len(p) < 9 || p[0] != 0xff {
		return 0, "", ""
	}
	return binary.LittleEndian.Uint16(p[1:]), string(p[4:9]), string(p[9:])
}

// DumpGTID is a COM_BINLOG_DUMP_GTID from server_id 7 at position 4 with the THROUGH_GTID
// flag, whose name length, file name, SID-block length and SID block are given separately so
// that tests can make them disagree.
func DumpGTID(nameLen uint32, name string, gtidSize uint32, gtid []byte) []byte {
	p := []byte{ComBinlogDumpGTID}
	p = binary.LittleEndian.AppendUint16(p, BinlogThroughGTID)
	p = binary.LittleEndian.AppendUint32(p, 7)
	p = binary.LittleEndian.AppendUint32(p, nameLen)
	p = append(p, name...)
	p = binary.LittleEndian.AppendUint64(p, 4)
	p = binary.LittleEndian.AppendUint32(p, gtidSize)
	return append(p, gtid...)
}

// Dump is a COM_BINLOG_DUMP from serverID at file and pos.
func Dump(serverID uint32, file string, pos uint32) []byte {
	p := []byte{ComBinlogDump}
	p = binary.LittleEndian.AppendUint32(p, pos)
	p = binary.LittleEndian.AppendUint16(p, 0)
	p = binary.LittleEndian.AppendUint32(p, serverID)
	return append(p, file...)
}

// RegisterSlave is a COM_REGISTER_SLAVE from serverID reporting host and port, with empty user
// and password.
func RegisterSlave(serverID uint32, host string, port uint16) []byte {
	p := []byte{ComRegisterSlave}
	p = binary.LittleEndian.AppendUint32(p, serverID)
	p = append(p, byte(len(host)))
	p = append(p, host...)
	p = append(p, 0, 0) // user, password
	p = binary.LittleEndian.AppendUint16(p, port)
	p = binary.LittleEndian.AppendUint32(p, 0)    // replication rank
	return binary.LittleEndian.AppendUint32(p, 0) // master id
}
