package sqlserver

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// resultFixer corrects, in the results of one statement, what GMS sends differently from
// MySQL 8.0. GMS spools a result in batches of rows that share one Fields slice, and vitess sends
// the fields with the first batch, so decisions about metadata are made once, at the first
// batch, and kept for the rest (a result set is recognised by its Fields).
//
// TIME: GMS has one TIME type, which keeps microseconds and prints all six digits
// ("03:25:45.000000"), and it does not keep a column's declared precision. MySQL prints a TIME
// (the common TIME(0)) as "03:25:45". A TIME column whose first batch has no value with a
// fraction is sent as MySQL sends TIME: 0 decimals, values without ".000000" (a later value that
// has a fraction keeps it in the text protocol). Otherwise it is sent as TIME(6): 6 decimals and
// six digits, so drivers decoding the binary protocol keep the fraction.
//
// Insert ids: for INSERT … ON DUPLICATE KEY UPDATE, GMS puts the session's LAST_INSERT_ID() in
// the OK packet, so a statement that only updated rows reports the id an earlier statement
// generated. MySQL reports 0 then (an updated row is like an UPDATE: it neither sets
// LAST_INSERT_ID() nor reports an id), and ORMs would attach rows to that stale id.
//
// Zero dates in the binary protocol: vitess encodes 0000-00-00 as a date of year 0, month 0,
// day 0, which drivers turn into a real date (go-sql-driver with parseTime reads -0001-11-30).
// MySQL sends a zero DATE, DATETIME or TIMESTAMP as an empty value (length 0), which drivers
// read as their zero time; an empty text makes vitess send exactly that.
type resultFixer struct {
	binary  bool // the result goes out in the binary protocol (a prepared statement)
	query   string
	upsert  bool  // the statement is INSERT … ON DUPLICATE KEY UPDATE
	staleID int64 // the session's LAST_INSERT_ID() before it ran

	first    *querypb.Field // the first field of the result being spooled: a new one starts a new result
	stripped []bool         // by field index: a TIME column sent without fraction
}

// newFixer returns the fixer for one statement of connection c.
func (h *handler) newFixer(c *mysql.Conn, query string) *resultFixer {
	f := &resultFixer{query: query}
	if containsFold(query, "duplicate") && upsertStatement.MatchString(query) {
		if s, ok := h.sessions.Load(c.ConnectionID); ok {
			f.upsert = true
			f.staleID = s.(sql.Session).GetLastQueryInfo().LastInsertId.Load()
		}
	}
	return f
}

// upsertStatement matches INSERT … ON DUPLICATE KEY UPDATE.
var upsertStatement = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*INSERT\b.*\bON\s+DUPLICATE\s+KEY\s+UPDATE\b`)

// spool returns callback with the fixer applied to every result.
func (f *resultFixer) spool(callback mysql.ResultSpoolFn) mysql.ResultSpoolFn {
	return func(r *sqltypes.Result, more bool) error {
		f.fix(r)
		return callback(r, more)
	}
}

// fix corrects r in place.
func (f *resultFixer) fix(r *sqltypes.Result) {
	if r == nil {
		return
	}
	if len(r.Fields) == 0 {
		if f.upsert && r.InsertID == uint64(f.staleID) {
			r.InsertID = 0
		}
		return
	}
	if r.Fields[0] != f.first {
		f.first = r.Fields[0]
		f.stripped = make([]bool, len(r.Fields))
		fieldMetadata(r.Fields, f.query)
		for i, fd := range r.Fields {
			if fd.Type != sqltypes.Time {
				continue
			}
			fraction := false
			for _, row := range r.Rows {
				if i < len(row) && hasFraction(row[i]) {
					fraction = true
					break
				}
			}
			f.stripped[i] = !fraction
			if fraction {
				fd.Decimals = 6
			} else {
				fd.Decimals = 0
			}
		}
	}
	if f.binary {
		for _, row := range r.Rows {
			for i, v := range row {
				if i < len(r.Fields) && isZeroDate(r.Fields[i].Type, v) {
					row[i] = sqltypes.MakeTrusted(r.Fields[i].Type, nil)
				}
			}
		}
	}
	for i, strip := range f.stripped {
		if !strip {
			continue
		}
		for _, row := range r.Rows {
			if i < len(row) && !row[i].IsNull() {
				if b := row[i].Raw(); bytes.HasSuffix(b, zeroFraction) {
					row[i] = sqltypes.MakeTrusted(sqltypes.Time, b[:len(b)-len(zeroFraction)])
				}
			}
		}
	}
}

var zeroFraction = []byte(".000000")

// isZeroDate reports whether v is the zero DATE, DATETIME or TIMESTAMP (any fraction).
func isZeroDate(t querypb.Type, v sqltypes.Value) bool {
	switch t {
	case sqltypes.Date, sqltypes.Datetime, sqltypes.Timestamp:
	default:
		return false
	}
	b := v.Raw()
	if v.IsNull() || !bytes.HasPrefix(b, []byte("0000-00-00")) {
		return false
	}
	for _, c := range b[10:] {
		if c != '0' && c != ' ' && c != ':' && c != '.' {
			return false
		}
	}
	return true
}

// hasFraction reports whether a TIME value's text has a non-zero fraction of a second.
func hasFraction(v sqltypes.Value) bool {
	if v.IsNull() {
		return false
	}
	b := v.Raw()
	dot := bytes.IndexByte(b, '.')
	return dot >= 0 && !bytes.Equal(b[dot:], zeroFraction)
}

// MySQL's column metadata constants.
const (
	binaryCharset = 63 // my_charset_bin: the character set of every non-string column
	notFixedDec   = 31 // NOT_FIXED_DEC: the decimals of FLOAT and DOUBLE without (M,D)
)

// fieldMetadata corrects column definitions GMS sends differently from MySQL 8.0:
//
//   - numeric, temporal, BIT and YEAR columns have the binary character set (63); GMS gives
//     them the connection's;
//   - FLOAT and DOUBLE have 31 decimals (GMS: 0, which some drivers read as "no fraction");
//   - YEAR is ZEROFILL as well as UNSIGNED;
//   - a table alias keeps the case it was written in (GMS lower-cases it: A.one reads a.one).
func fieldMetadata(fields []*querypb.Field, query string) {
	var lower string // query, lower-cased on first need
	for _, fd := range fields {
		switch {
		case fd.Type == sqltypes.Float32 || fd.Type == sqltypes.Float64:
			if fd.Decimals == 0 {
				fd.Decimals = notFixedDec
			}
			fd.Charset = binaryCharset
		case fd.Type == sqltypes.Year:
			fd.Flags |= uint32(querypb.MySqlFlag_ZEROFILL_FLAG) | uint32(querypb.MySqlFlag_UNSIGNED_FLAG)
			fd.Charset = binaryCharset
		case sqltypes.IsIntegral(fd.Type) || fd.Type == sqltypes.Decimal || isTemporal(fd.Type) || fd.Type == sqltypes.Bit:
			fd.Charset = binaryCharset
		}
		if fd.Table != "" && hasLetter(fd.Table) && strings.ToLower(fd.Table) == fd.Table {
			if lower == "" {
				lower = strings.ToLower(query)
			}
			if spelled := aliasSpelling(query, lower, fd.Table); spelled != "" {
				if fd.OrgTable == fd.Table {
					fd.OrgTable = spelled
				}
				fd.Table = spelled
			}
		}
	}
}

// aliasSpelling returns how query spells the (lower-case) alias name when it is spelled one
// way only, and differently from name; otherwise "".
func aliasSpelling(query, lower, name string) string {
	spelled := ""
	for from := 0; ; {
		i := strings.Index(lower[from:], name)
		if i < 0 {
			break
		}
		i += from
		from = i + len(name)
		if i > 0 && isWordByte(lower[i-1]) || from < len(lower) && isWordByte(lower[from]) {
			continue
		}
		s := query[i:from]
		if s == name {
			return "" // also written as GMS reports it
		}
		if spelled != "" && spelled != s {
			return ""
		}
		spelled = s
	}
	return spelled
}

func isTemporal(t querypb.Type) bool {
	switch t {
	case sqltypes.Date, sqltypes.Time, sqltypes.Datetime, sqltypes.Timestamp:
		return true
	}
	return false
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; 'a' <= c && c <= 'z' {
			return true
		}
	}
	return false
}

// prepareFields corrects the metadata ComPrepare announces: TIME columns with 6 decimals, as
// their values may carry microseconds (the execution's own metadata is decided by resultFixer).
func prepareFields(fields []*querypb.Field) {
	for _, f := range fields {
		if f.Type == sqltypes.Time && f.Decimals == 0 {
			f.Decimals = 6
		}
	}
}
