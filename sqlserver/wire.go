package sqlserver

// Client packet validation.
//
// vitess's server-side parsers index their input without checking every length (a truncated
// handshake response, a COM_BINLOG_DUMP_GTID whose name length points past the packet, a
// COM_STMT_EXECUTE whose parameter value claims 2^63 bytes, a statement with 65,529 or more
// placeholders, an empty command packet): they panic, vitess recovers the panic and drops the
// connection, and the client sees EOF instead of an error. The listener shim runs every client
// packet it inspects through these checks first. A packet that passes is one the vitess parser
// reads without indexing out of range; one that fails is answered by the shim with MySQL's error
// (1043 for the handshake, 1835 or 1047 for a command) and never reaches vitess.
//
// The checks follow the layouts MySQL documents and vitess reads: a check accepts whatever
// vitess parses safely, so that well-formed clients see no difference.

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// MySQL error numbers the shim answers with.
const (
	erHandshakeError   = 1043 // ER_HANDSHAKE_ERROR, SQLSTATE 08S01: "Bad handshake"
	erUnknownCom       = 1047 // ER_UNKNOWN_COM_ERROR, SQLSTATE 08S01: "Unknown command"
	erNetPacketTooBig  = 1153 // ER_NET_PACKET_TOO_LARGE, SQLSTATE 08S01
	erMalformedPacket  = 1835 // ER_MALFORMED_PACKET, SQLSTATE HY000: "Malformed communication packet."
	erPSManyParam      = 1390 // ER_PS_MANY_PARAM, SQLSTATE HY000
	erUnknownStmtHndlr = 1243 // ER_UNKNOWN_STMT_HANDLER, SQLSTATE HY000
)

// maxSafeParams is the largest placeholder count vitess handles: it sizes the NULL bitmap of
// COM_STMT_EXECUTE as uint16((n+7)/8), which wraps from 65,529 on, and counts placeholders in a
// uint16, which wraps past 65,535. MySQL's own limit is 65,535 (ER_PS_MANY_PARAM).
const maxSafeParams = 65528

// errMalformed is what a check returns for a packet it refuses.
var errMalformed = errors.New("malformed packet")

// Client capability flags the handshake check reads.
const (
	capProtocol41     = mysql.CapabilityClientProtocol41
	capSSL            = mysql.CapabilityClientSSL
	capSecureConn     = mysql.CapabilityClientSecureConnection
	capConnectWithDB  = mysql.CapabilityClientConnectWithDB
	capPluginAuth     = mysql.CapabilityClientPluginAuth
	capLenencAuthData = mysql.CapabilityClientPluginAuthLenencClientData
	capConnAttr       = mysql.CapabilityClientConnAttr
)

// wireReader reads a packet without ever indexing past its end: each read reports ok=false
// once the data is short, and every later read fails too.
type wireReader struct {
	p   []byte
	pos int
	bad bool
}

func (r *wireReader) need(n int) bool {
	if r.bad || n < 0 || n > len(r.p)-r.pos {
		r.bad = true
		return false
	}
	return true
}

func (r *wireReader) skip(n int) bool {
	if !r.need(n) {
		return false
	}
	r.pos += n
	return true
}

func (r *wireReader) u8() byte {
	if !r.need(1) {
		return 0
	}
	r.pos++
	return r.p[r.pos-1]
}

func (r *wireReader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	r.pos += 2
	return binary.LittleEndian.Uint16(r.p[r.pos-2:])
}

func (r *wireReader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	r.pos += 4
	return binary.LittleEndian.Uint32(r.p[r.pos-4:])
}

// nullString skips a NUL-terminated string.
func (r *wireReader) nullString() bool {
	if r.bad || r.pos > len(r.p) {
		r.bad = true
		return false
	}
	for i := r.pos; i < len(r.p); i++ {
		if r.p[i] == 0 {
			r.pos = i + 1
			return true
		}
	}
	r.bad = true
	return false
}

// lenenc reads a length-encoded integer; ok is false when it is short or is 0xfb/0xff, which
// are not lengths.
func (r *wireReader) lenenc() (uint64, bool) {
	switch b := r.u8(); {
	case r.bad:
		return 0, false
	case b < 0xfb:
		return uint64(b), true
	case b == 0xfc:
		return uint64(r.u16()), !r.bad
	case b == 0xfd:
		if !r.need(3) {
			return 0, false
		}
		r.pos += 3
		q := r.p[r.pos-3:]
		return uint64(q[0]) | uint64(q[1])<<8 | uint64(q[2])<<16, true
	case b == 0xfe:
		if !r.need(8) {
			return 0, false
		}
		r.pos += 8
		return binary.LittleEndian.Uint64(r.p[r.pos-8:]), true
	default:
		r.bad = true
		return 0, false
	}
}

// lenencBytes skips a length-encoded string.
func (r *wireReader) lenencBytes() bool {
	n, ok := r.lenenc()
	if !ok || n > uint64(len(r.p)) {
		r.bad = true
		return false
	}
	return r.skip(int(n))
}

// checkHandshakeResponse checks a client's HandshakeResponse41 (or its SSLRequest when the
// packet stops after the 32-byte fixed part with CLIENT_SSL set). A nil result means vitess
// parses it without a panic; MySQL answers a refused one with 1043 "Bad handshake".
func checkHandshakeResponse(p []byte) error {
	r := &wireReader{p: p}
	flags := r.u32()
	r.skip(4 + 1 + 23) // max packet size, character set, reserved
	if r.bad || flags&capProtocol41 == 0 {
		return errMalformed
	}
	if len(p) == 32 && flags&capSSL != 0 {
		return nil // SSLRequest
	}
	r.nullString() // user
	switch {
	case flags&capLenencAuthData != 0:
		r.lenencBytes()
	case flags&capSecureConn != 0:
		r.skip(int(r.u8()))
	default:
		r.nullString()
	}
	if flags&capConnectWithDB != 0 {
		r.nullString()
	}
	if flags&capPluginAuth != 0 && r.pos < len(p) {
		r.nullString()
	}
	if r.bad {
		return errMalformed
	}
	// Connection attributes: vitess parses them and only logs a failure, but its reads index
	// with lengths taken from the packet; refuse any it could not read.
	if flags&capConnAttr != 0 && r.pos < len(p) {
		total, ok := r.lenenc()
		if !ok || total > uint64(len(p)-r.pos) {
			return errMalformed
		}
		end := r.pos + int(total)
		for r.pos < end && !r.bad {
			r.lenencBytes()
			r.lenencBytes()
		}
		if r.bad {
			return errMalformed
		}
	}
	return nil
}

// preparedStatements is what the COM_STMT_EXECUTE check needs of the connection: the
// statement's placeholder count, the parameter types bound by an earlier execution, and which
// parameters already hold long data. ok is false for an unknown statement id.
type preparedStatements func(stmtID uint32) (params int, types []int32, longData func(i int) bool, ok bool)

// checkCommand checks a command packet (seq 0) of the types vitess parses by hand. A nil result
// means vitess handles it without a panic; otherwise the error is MySQL's (1047 for an empty
// packet, 1835 for a malformed one, 1243 for an unknown statement).
func checkCommand(p []byte, stmts preparedStatements) error {
	if len(p) == 0 {
		return mysql.NewSQLError(erUnknownCom, "08S01", "Unknown command")
	}
	r := &wireReader{p: p, pos: 1}
	switch p[0] {
	case comBinlogDump:
		r.skip(4 + 2 + 4) // pos, flags, server_id; the file name is the rest
	case comBinlogDumpGTID:
		// The shim clears NON_BLOCK and sets THROUGH_GTID whenever a SID block follows, so
		// vitess reads one whenever its size is there.
		r.skip(2 + 4) // flags, server_id
		r.skip(int(r.u32()))
		r.skip(8)
		if !r.bad && len(p)-r.pos >= 4 {
			n := r.u32()
			if !r.need(int(n)) || !validSIDBlock(p[r.pos:r.pos+int(n)]) {
				return malformedPacket()
			}
		}
	case comRegisterSlave:
		r.skip(4)
		r.skip(int(r.u8())) // host
		r.skip(int(r.u8())) // user
		r.skip(int(r.u8())) // password
		r.skip(2)           // port
	case mysql.ComFieldList:
		r.nullString()
	case mysql.ComSetOption:
		r.skip(2)
	case mysql.ComStmtClose:
		r.skip(4)
	case mysql.ComStmtReset:
		// vitess dereferences the statement without checking it exists.
		id := r.u32()
		if !r.bad && stmts != nil {
			if _, _, _, ok := stmts(id); !ok {
				return mysql.NewSQLError(erUnknownStmtHndlr, stateGeneral,
					"Unknown prepared statement handler (%d) given to mysqld_stmt_reset", id)
			}
		}
	case mysql.ComStmtSendLongData:
		r.skip(4 + 2)
	case mysql.ComStmtFetch:
		r.skip(4 + 4)
	case mysql.ComStmtExecute:
		return checkStmtExecute(r, stmts)
	}
	if r.bad {
		return malformedPacket()
	}
	return nil
}

// malformedPacket is MySQL's 1835 (made when needed: checkCommand runs for every command).
func malformedPacket() error {
	return mysql.NewSQLError(erMalformedPacket, stateGeneral, "Malformed communication packet.")
}

// checkedCommand reports whether checkCommand reads cmd's fields (the shim then reads the
// command whole, whatever its size).
func checkedCommand(cmd byte) bool {
	switch cmd {
	case comBinlogDump, comBinlogDumpGTID, comRegisterSlave, mysql.ComFieldList, mysql.ComSetOption,
		mysql.ComStmtClose, mysql.ComStmtReset, mysql.ComStmtSendLongData, mysql.ComStmtFetch, mysql.ComStmtExecute:
		return true
	}
	return false
}

// validSIDBlock reports whether b is a GTID set in MySQL's binary form (n_sids u64, then per
// SID: 16-byte uuid, n_intervals u64, intervals of two u64) filling b exactly.
func validSIDBlock(b []byte) bool {
	r := &wireReader{p: b}
	if !r.need(8) {
		return false
	}
	nSIDs := binary.LittleEndian.Uint64(b)
	r.pos = 8
	for i := uint64(0); i < nSIDs; i++ {
		if !r.skip(16) || !r.need(8) {
			return false
		}
		n := binary.LittleEndian.Uint64(b[r.pos:])
		r.pos += 8
		if n > uint64(len(b)) || !r.skip(int(n)*16) {
			return false
		}
	}
	return r.pos == len(b)
}

// checkStmtExecute checks COM_STMT_EXECUTE against the statement it names, reading it as vitess
// does: statement id, flags, iteration count, NULL bitmap, new-params-bound flag with one type
// per parameter, then each value not already bound by long data.
func checkStmtExecute(r *wireReader, stmts preparedStatements) error {
	id := r.u32()
	r.skip(1 + 4) // cursor flags, iteration count
	if r.bad {
		return malformedPacket()
	}
	if stmts == nil {
		return nil
	}
	n, types, longData, ok := stmts(id)
	if !ok {
		return mysql.NewSQLError(erUnknownStmtHndlr, stateGeneral,
			"Unknown prepared statement handler (%d) given to mysqld_stmt_execute", id)
	}
	if n > maxSafeParams {
		return mysql.NewSQLError(erPSManyParam, stateGeneral, "Prepared statement contains too many placeholders")
	}
	if n == 0 {
		return nil
	}
	bitmap := r.pos
	if !r.skip((n + 7) / 8) {
		return malformedPacket()
	}
	cur := make([]int32, len(types))
	copy(cur, types)
	if r.pos < len(r.p) && r.p[r.pos] == 1 {
		r.pos++
		for i := 0; i < n; i++ {
			typ, flags := r.u8(), r.u8()
			if r.bad {
				return malformedPacket()
			}
			t, err := sqltypes.MySQLToType(int64(typ), int64(flags)>>2)
			if err != nil {
				return nil // vitess refuses the type itself
			}
			if i < len(cur) {
				cur[i] = int32(t)
			}
		}
	} else if r.pos < len(r.p) {
		r.pos++
	} else {
		r.pos = 1 // vitess reads the values from the start of the payload then
	}
	for i := 0; i < len(cur); i++ {
		if longData != nil && longData(i) {
			continue
		}
		if r.p[bitmap+i/8]&(1<<uint(i%8)) != 0 {
			continue
		}
		if !skipParam(r, querypb.Type(cur[i])) {
			return malformedPacket()
		}
	}
	return nil
}

// skipParam skips one binary-protocol parameter value of type t; false when it is short or
// claims more bytes than the packet holds.
func skipParam(r *wireReader, t querypb.Type) bool {
	switch t {
	case sqltypes.Null:
		return true
	case sqltypes.Int8, sqltypes.Uint8:
		return r.skip(1)
	case sqltypes.Int16, sqltypes.Uint16, sqltypes.Year:
		return r.skip(2)
	case sqltypes.Int24, sqltypes.Uint24, sqltypes.Int32, sqltypes.Uint32, sqltypes.Float32:
		return r.skip(4)
	case sqltypes.Int64, sqltypes.Uint64, sqltypes.Float64:
		return r.skip(8)
	case sqltypes.Timestamp, sqltypes.Date, sqltypes.Datetime, sqltypes.Time:
		return r.skip(int(r.u8()))
	default:
		return r.lenencBytes()
	}
}

// refuseManyParams answers ER_PS_MANY_PARAM (1390) for a statement with more placeholders than
// vitess can execute (maxSafeParams), and forgets the statement vitess already recorded, so a
// COM_STMT_EXECUTE naming it gets ER_UNKNOWN_STMT_HANDLER instead of reaching vitess's parser.
// vitess's own count is a uint16 that wraps, so the placeholders are counted again here, only
// when the text holds enough '?' to matter.
func refuseManyParams(c *mysql.Conn, query string, prepare *mysql.PrepareData) error {
	if strings.Count(query, "?") <= maxSafeParams {
		return nil
	}
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil // vitess already refused it
	}
	n := 0
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		if v, ok := node.(*sqlparser.SQLVal); ok && strings.HasPrefix(string(v.Val), ":v") {
			n++
		}
		return true, nil
	}, stmt)
	if n <= maxSafeParams {
		return nil
	}
	if prepare != nil {
		delete(c.PrepareData, prepare.StatementID)
	}
	return mysql.NewSQLError(erPSManyParam, stateGeneral, "Prepared statement contains too many placeholders")
}
