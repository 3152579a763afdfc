package binlog

// Row-value codec: the column definitions of a TABLE_MAP_EVENT and the row
// images of WRITE/UPDATE/DELETE_ROWS_EVENT (v1 and v2 share the image format),
// converted to and from the Go values go-mysql-server stores.
//
// # Protocol notes (MySQL 8.0, binlog_format=ROW)
//
// A table map lists, per column, a type code (one byte) and 0, 1 or 2 bytes
// of metadata, all types first and then all metadata in one length-prefixed
// block. A column's type in the table map is its "binlog type", which is not
// always the type the server reports to clients:
//
//	column                 type  metadata (bytes as written)
//	TINYINT … BIGINT       1/2/9/3/8 (TINY, SHORT, INT24, LONG, LONGLONG)  none
//	FLOAT, DOUBLE          4, 5  [pack length: 4 or 8]
//	DECIMAL(p,s)           246   [p, s]
//	DATE                   10    none
//	TIME(fsp)              19    [fsp]      (TIME2)
//	DATETIME(fsp)          18    [fsp]      (DATETIME2)
//	TIMESTAMP(fsp)         17    [fsp]      (TIMESTAMP2)
//	YEAR                   13    none
//	VARCHAR/VARBINARY(n)   15    [max bytes, little-endian uint16]
//	CHAR/BINARY(n)         254   [real type ^ ((max bytes & 0x300) >> 4), max bytes & 0xff]
//	ENUM                   254   [247, pack length 1 or 2]
//	SET                    254   [248, pack length 1, 2, 3, 4 or 8]
//	TEXT/BLOB family       252   [pack length 1..4 of the length prefix]
//	BIT(n)                 16    [n % 8, n / 8]
//	JSON                   245   [4]
//
// "max bytes" is characters × the charset's maximum bytes per character, so a
// utf8mb4 CHAR(255) has 1020 and needs the two high bits folded into the
// real-type byte: 0xfe ^ 0x30 = 0xce. A decoder recognises the folded form
// because its real-type byte does not have both 0x30 bits set.
//
// A row image is a NULL bitmap with one bit per column present in the event's
// column bitmap (bit j for the j-th present column, least significant bit
// first; servers set the unused high bits of the last byte), followed by the
// values of the present, non-NULL columns:
//
//   - Integers: little-endian two's complement, 1/2/3/4/8 bytes. Signedness is
//     not in the image; the table map's optional SIGNEDNESS field carries it.
//   - FLOAT/DOUBLE: IEEE 754, little-endian.
//   - DECIMAL(p,s): MySQL's binary decimal. The integer part (p-s digits) and
//     the fraction (s digits) are each cut into groups of 9 digits stored as
//     4-byte big-endian integers; the integer part's leading partial group and
//     the fraction's trailing partial group take 0,1,1,2,2,3,3,4,4,4 bytes for
//     0..9 digits. A negative value has every byte inverted. Finally the top
//     bit of the first byte is flipped, so it is set for non-negative values.
//   - DATE: 3 bytes little-endian, day | month<<5 | year<<9.
//   - DATETIME2: 5 bytes big-endian of 0x8000000000 + (ymd<<17 | hms) with
//     ymd = (year*13+month)<<5 | day and hms = hour<<12 | minute<<6 | second,
//     then the fraction: fsp 1-2 one byte (µs/10000), 3-4 two bytes (µs/100),
//     5-6 three bytes (µs), all big-endian. Zero date = all-zero fields.
//   - TIMESTAMP2: 4 bytes big-endian Unix seconds (0 = zero timestamp), then
//     the fraction as for DATETIME2.
//   - TIME2: the packed value nr = ±((hours<<12 | minute<<6 | second)<<24 + µs).
//     fsp 0: 3 bytes big-endian of 0x800000 + (nr>>24); fsp 1-2: that plus one
//     byte, the remainder nr%(1<<24) / 10000 as a signed byte; fsp 3-4: plus two
//     bytes, remainder/100 as a signed 16-bit value; fsp 5-6: 6 bytes big-endian
//     of 0x800000000000 + nr. nr>>24 is an arithmetic (flooring) shift and %
//     truncates, so negative times with a fraction store int part - 1 and a
//     complemented fraction; the reader undoes it.
//   - YEAR: one byte, year - 1900 (0 for year 0).
//   - VARCHAR/VARBINARY: length prefix of 1 byte if max bytes < 256, else 2.
//   - CHAR/BINARY: the same rule on the STRING metadata's max bytes. MySQL
//     strips trailing pad characters (spaces for CHAR, 0x00 for BINARY) before
//     writing and pads again when reading; we write the value as GMS stores it
//     (GMS keeps CHAR trailing spaces and pads BINARY with 0x00), which any
//     reader accepts, and pad BINARY again when decoding.
//   - BLOB/TEXT: little-endian length of the metadata's pack length, then bytes.
//   - ENUM: the 1-based index, little-endian, 1 or 2 bytes. SET: the bit mask,
//     little-endian, pack-length bytes. BIT(n): (n+7)/8 bytes big-endian.
//   - JSON: 4-byte little-endian length, then MySQL's binary JSON (below).
//   - Strings are in the column's character set; GMS holds UTF-8 Go strings,
//     so non-UTF-8 columns (latin1 …) are transcoded both ways.
//
// Binary JSON: one type byte, then the value. 0x00/0x01 small/large object,
// 0x02/0x03 small/large array, 0x04 literal (0 null, 1 true, 2 false),
// 0x05-0x0a int16, uint16, int32, uint32, int64, uint64 (little-endian),
// 0x0b double, 0x0c string (variable-length length: 7 bits per byte, low group
// first, high bit = more), 0x0f opaque (MySQL field type byte, variable-length
// length, data). A container is: element count, total byte size (2 bytes each
// for small, 4 for large), then for objects one key entry per member (offset
// of the key, 2 or 4 bytes, plus its length, always 2 bytes), then one value
// entry per element (type byte plus either an offset or the value inline:
// literals, int16 and uint16 always; int32 and uint32 only in large
// containers), then the keys, then the non-inline values. Offsets count from
// the container's first byte (the count). Keys are sorted by length, then
// bytewise. A container is small unless some offset or its size exceeds
// 0xffff.
//
// # Go values (what GMS stores at this version)
//
//	TINYINT…BIGINT        int8, int16, int32 (MEDIUMINT too), int64; unsigned: uint8 … uint64
//	FLOAT, DOUBLE         float32, float64
//	DECIMAL               *apd.Decimal (github.com/cockroachdb/apd/v3), exponent -scale
//	DATE/DATETIME/TIMESTAMP time.Time in UTC; the zero date is types.ZeroTime (-0001-11-30)
//	TIME                  types.Timespan (microseconds); GMS has no TIME(fsp), it is always TIME(6)
//	YEAR                  int16
//	CHAR/VARCHAR/TEXT     string (UTF-8)
//	BINARY/VARBINARY/BLOB []byte (BINARY zero-padded to its length)
//	ENUM                  uint16 (1-based index), SET uint64 (bit mask), BIT uint64
//	JSON                  types.JSONDocument{Val: map[string]any / []any / string / float64 / bool / nil …}
//
// JSON numbers: GMS parses JSON text with encoding/json, so every number is a
// float64. Integral float64 values within ±2^53 are written as JSON integers
// (as MySQL would have parsed the same text), and integers read back become
// float64 when they are exactly representable, int64/uint64 otherwise.
// Documents built by JSON_OBJECT/JSON_ARRAY keep SQL values: Go integers are
// written as JSON integers, *apd.Decimal as an opaque DECIMAL and time.Time as
// an opaque DATETIME, as MySQL does; reading, opaque DECIMAL gives
// *apd.Decimal, opaque DATE/DATETIME/TIMESTAMP give time.Time, opaque TIME its
// text and any other opaque value MySQL's "base64:typeNN:…" text.
//
// TIMESTAMP: GMS stores the wall-clock value it was given (it does not convert
// from the session time zone), so TIMESTAMP2's Unix seconds are that wall
// clock read as UTC, and reading gives it back unchanged.

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/proto/query"
)

// MySQL column type codes (enum_field_types) as they appear in a table map.
const (
	fieldTypeDecimal    byte = 0
	fieldTypeTiny       byte = 1
	fieldTypeShort      byte = 2
	fieldTypeLong       byte = 3
	fieldTypeFloat      byte = 4
	fieldTypeDouble     byte = 5
	fieldTypeNull       byte = 6
	fieldTypeTimestamp  byte = 7
	fieldTypeLonglong   byte = 8
	fieldTypeInt24      byte = 9
	fieldTypeDate       byte = 10
	fieldTypeTime       byte = 11
	fieldTypeDatetime   byte = 12
	fieldTypeYear       byte = 13
	fieldTypeNewdate    byte = 14
	fieldTypeVarchar    byte = 15
	fieldTypeBit        byte = 16
	fieldTypeTimestamp2 byte = 17
	fieldTypeDatetime2  byte = 18
	fieldTypeTime2      byte = 19
	fieldTypeTypedArray byte = 20
	fieldTypeVector     byte = 242
	fieldTypeJSON       byte = 245
	fieldTypeNewdecimal byte = 246
	fieldTypeEnum       byte = 247
	fieldTypeSet        byte = 248
	fieldTypeTinyBlob   byte = 249
	fieldTypeMediumBlob byte = 250
	fieldTypeLongBlob   byte = 251
	fieldTypeBlob       byte = 252
	fieldTypeVarString  byte = 253
	fieldTypeString     byte = 254
	fieldTypeGeometry   byte = 255
)

// collationBinary is the collation id of the binary character set.
const collationBinary = 63

var (
	// ErrUnsupportedColumnType is returned (wrapped) for column types the
	// codec cannot encode or decode, such as GEOMETRY and VECTOR.
	ErrUnsupportedColumnType = errors.New("unsupported column type")
	// ErrMalformedRow is returned (wrapped) when a row image or table-map
	// metadata is truncated or inconsistent with its column definitions.
	ErrMalformedRow = errors.New("malformed binlog row data")
)

// ColumnDef is how one column appears in a TABLE_MAP_EVENT.
type ColumnDef struct {
	// Type is the MySQL column type code written in the table map, e.g. 3 for
	// MYSQL_TYPE_LONG or 254 for MYSQL_TYPE_STRING (also used for CHAR,
	// BINARY, ENUM and SET, see RealType).
	Type byte
	// Meta is the column's metadata exactly as written in the table map's
	// metadata block: 0, 1 or 2 bytes depending on Type.
	Meta []byte
	// Nullable is the column's bit in the table map's NULL-ability bitmap.
	Nullable bool
	// Unsigned is the column's bit in the optional SIGNEDNESS metadata. Only
	// integer columns are ever unsigned here.
	Unsigned bool
	// Name is the column name, for the optional COLUMN_NAME metadata.
	Name string
	// Collation is the collation id of a character, ENUM or SET column (63
	// for binary strings), for the optional COLUMN_CHARSET and
	// ENUM_AND_SET_COLUMN_CHARSET metadata; 0 when unknown or not applicable.
	Collation uint16
	// EnumValues and SetValues are the member lists of an ENUM or SET column,
	// for the optional ENUM_STR_VALUE and SET_STR_VALUE metadata.
	EnumValues []string
	SetValues  []string
}

// RealType returns the column's actual type: for MYSQL_TYPE_STRING it is the
// type folded into the first metadata byte (STRING, ENUM or SET), otherwise
// Type itself.
func (c ColumnDef) RealType() byte {
	if c.Type == fieldTypeString && len(c.Meta) == 2 {
		if c.Meta[0]&0x30 != 0x30 {
			return c.Meta[0] | 0x30
		}
		return c.Meta[0]
	}
	return c.Type
}

// stringMaxBytes returns the maximum byte length of a MYSQL_TYPE_STRING
// column (CHAR/BINARY) from its folded metadata.
func (c ColumnDef) stringMaxBytes() int {
	if len(c.Meta) != 2 {
		return 0
	}
	if c.Meta[0]&0x30 != 0x30 {
		return int(c.Meta[1]) | int((c.Meta[0]&0x30)^0x30)<<4
	}
	return int(c.Meta[1])
}

// IsNumeric reports whether the column has a bit in the table map's optional
// SIGNEDNESS metadata. MySQL counts TINY, SHORT, INT24, LONG, LONGLONG,
// NEWDECIMAL, FLOAT and DOUBLE; YEAR is not numeric there.
func (c ColumnDef) IsNumeric() bool {
	switch c.Type {
	case fieldTypeTiny, fieldTypeShort, fieldTypeInt24, fieldTypeLong, fieldTypeLonglong,
		fieldTypeNewdecimal, fieldTypeFloat, fieldTypeDouble:
		return true
	}
	return false
}

// IsCharacter reports whether the column has an entry in the table map's
// optional DEFAULT_CHARSET/COLUMN_CHARSET metadata: CHAR, BINARY, VARCHAR,
// VARBINARY and the TEXT/BLOB family (ENUM and SET are listed separately).
func (c ColumnDef) IsCharacter() bool {
	switch c.RealType() {
	case fieldTypeString, fieldTypeVarString, fieldTypeVarchar, fieldTypeBlob:
		return true
	}
	return false
}

// metaLen returns how many metadata bytes a column of type t has in a table
// map, or -1 for types that cannot appear there.
func metaLen(t byte) int {
	switch t {
	case fieldTypeDecimal, fieldTypeTiny, fieldTypeShort, fieldTypeLong, fieldTypeNull,
		fieldTypeTimestamp, fieldTypeLonglong, fieldTypeInt24, fieldTypeDate, fieldTypeTime,
		fieldTypeDatetime, fieldTypeYear, fieldTypeNewdate:
		return 0
	case fieldTypeFloat, fieldTypeDouble, fieldTypeTimestamp2, fieldTypeDatetime2, fieldTypeTime2,
		fieldTypeJSON, fieldTypeTinyBlob, fieldTypeMediumBlob, fieldTypeLongBlob, fieldTypeBlob,
		fieldTypeGeometry, fieldTypeVector:
		return 1
	case fieldTypeVarchar, fieldTypeVarString, fieldTypeBit, fieldTypeNewdecimal, fieldTypeString,
		fieldTypeEnum, fieldTypeSet:
		return 2
	}
	return -1
}

// AppendColumnMetadata appends the concatenated metadata of cols: the content
// of a table map's metadata block, without its length prefix.
func AppendColumnMetadata(dst []byte, cols []ColumnDef) []byte {
	for _, c := range cols {
		dst = append(dst, c.Meta...)
	}
	return dst
}

// ColumnDefsFromTableMap parses a table map's column types, metadata block
// (without its length prefix) and NULL-ability bitmap into column
// definitions, for a replica that has no GMS schema for the table. Only Type, Meta and Nullable are set; the optional metadata
// (signedness, names, charsets, ENUM/SET values) is not part of these inputs.
func ColumnDefsFromTableMap(colTypes []byte, metaBlock []byte, nullBitmap []byte) ([]ColumnDef, error) {
	n := len(colTypes)
	if len(nullBitmap) < (n+7)/8 {
		return nil, fmt.Errorf("%w: NULL bitmap has %d bytes, %d columns need %d", ErrMalformedRow, len(nullBitmap), n, (n+7)/8)
	}
	cols := make([]ColumnDef, n)
	pos := 0
	for i, t := range colTypes {
		ml := metaLen(t)
		if ml < 0 {
			return nil, fmt.Errorf("%w: column %d has type code %d", ErrUnsupportedColumnType, i, t)
		}
		if pos+ml > len(metaBlock) {
			return nil, fmt.Errorf("%w: metadata block ends in column %d", ErrMalformedRow, i)
		}
		var meta []byte
		if ml > 0 {
			meta = append([]byte(nil), metaBlock[pos:pos+ml]...)
		}
		pos += ml
		cols[i] = ColumnDef{Type: t, Meta: meta, Nullable: nullBitmap[i/8]&(1<<(i%8)) != 0}
		if t == fieldTypeString {
			switch rt := cols[i].RealType(); rt {
			case fieldTypeString, fieldTypeEnum, fieldTypeSet:
			default:
				return nil, fmt.Errorf("%w: column %d: STRING metadata names real type %d", ErrMalformedRow, i, rt)
			}
		}
	}
	if pos != len(metaBlock) {
		return nil, fmt.Errorf("%w: metadata block has %d bytes, the column types use %d", ErrMalformedRow, len(metaBlock), pos)
	}
	return cols, nil
}

// ColumnDefs maps a GMS schema to table-map column definitions.
func ColumnDefs(sch sql.Schema) ([]ColumnDef, error) {
	cols := make([]ColumnDef, len(sch))
	for i, c := range sch {
		d, err := columnDefFor(c.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		d.Nullable = c.Nullable
		d.Name = c.Name
		cols[i] = d
	}
	return cols, nil
}

func columnDefFor(t sql.Type) (ColumnDef, error) {
	qt := t.Type()
	switch qt {
	case sqltypes.Int8, sqltypes.Uint8:
		return ColumnDef{Type: fieldTypeTiny, Unsigned: qt == sqltypes.Uint8}, nil
	case sqltypes.Int16, sqltypes.Uint16:
		return ColumnDef{Type: fieldTypeShort, Unsigned: qt == sqltypes.Uint16}, nil
	case sqltypes.Int24, sqltypes.Uint24:
		return ColumnDef{Type: fieldTypeInt24, Unsigned: qt == sqltypes.Uint24}, nil
	case sqltypes.Int32, sqltypes.Uint32:
		return ColumnDef{Type: fieldTypeLong, Unsigned: qt == sqltypes.Uint32}, nil
	case sqltypes.Int64, sqltypes.Uint64:
		return ColumnDef{Type: fieldTypeLonglong, Unsigned: qt == sqltypes.Uint64}, nil
	case sqltypes.Float32:
		return ColumnDef{Type: fieldTypeFloat, Meta: []byte{4}}, nil
	case sqltypes.Float64:
		return ColumnDef{Type: fieldTypeDouble, Meta: []byte{8}}, nil
	case sqltypes.Decimal:
		dt, ok := t.(sql.DecimalType)
		if !ok {
			return ColumnDef{}, fmt.Errorf("%w: %s", ErrUnsupportedColumnType, t)
		}
		return ColumnDef{Type: fieldTypeNewdecimal, Meta: []byte{dt.Precision(), dt.Scale()}}, nil
	case sqltypes.Date:
		return ColumnDef{Type: fieldTypeDate}, nil
	case sqltypes.Datetime, sqltypes.Timestamp:
		fsp := 0
		if dt, ok := t.(sql.DatetimeType); ok {
			fsp = dt.Precision()
		}
		if fsp < 0 || fsp > 6 {
			return ColumnDef{}, fmt.Errorf("%w: %s has precision %d", ErrUnsupportedColumnType, t, fsp)
		}
		ft := fieldTypeDatetime2
		if qt == sqltypes.Timestamp {
			ft = fieldTypeTimestamp2
		}
		return ColumnDef{Type: ft, Meta: []byte{byte(fsp)}}, nil
	case sqltypes.Time:
		// GMS's TIME has no precision of its own: it keeps microseconds and
		// reports itself as time(6).
		return ColumnDef{Type: fieldTypeTime2, Meta: []byte{6}}, nil
	case sqltypes.Year:
		return ColumnDef{Type: fieldTypeYear}, nil
	case sqltypes.Char, sqltypes.Binary, sqltypes.VarChar, sqltypes.VarBinary, sqltypes.Text, sqltypes.Blob:
		st, ok := t.(sql.StringType)
		if !ok {
			return ColumnDef{}, fmt.Errorf("%w: %s", ErrUnsupportedColumnType, t)
		}
		coll := uint16(st.Collation())
		if qt == sqltypes.Binary || qt == sqltypes.VarBinary || qt == sqltypes.Blob {
			coll = collationBinary
		}
		maxBytes := st.MaxByteLength()
		switch qt {
		case sqltypes.Char, sqltypes.Binary:
			if maxBytes > 1023 {
				return ColumnDef{}, fmt.Errorf("%w: %s is %d bytes long, CHAR metadata holds at most 1023", ErrUnsupportedColumnType, t, maxBytes)
			}
			b0 := fieldTypeString ^ byte((maxBytes&0x300)>>4)
			return ColumnDef{Type: fieldTypeString, Meta: []byte{b0, byte(maxBytes)}, Collation: coll}, nil
		case sqltypes.VarChar, sqltypes.VarBinary:
			if maxBytes > math.MaxUint16 {
				return ColumnDef{}, fmt.Errorf("%w: %s is %d bytes long", ErrUnsupportedColumnType, t, maxBytes)
			}
			return ColumnDef{Type: fieldTypeVarchar, Meta: []byte{byte(maxBytes), byte(maxBytes >> 8)}, Collation: coll}, nil
		default:
			return ColumnDef{Type: fieldTypeBlob, Meta: []byte{byte(blobPackLength(maxBytes))}, Collation: coll}, nil
		}
	case sqltypes.Enum:
		et, ok := t.(sql.EnumType)
		if !ok {
			return ColumnDef{}, fmt.Errorf("%w: %s", ErrUnsupportedColumnType, t)
		}
		pl := byte(1)
		if et.NumberOfElements() >= 256 {
			pl = 2
		}
		return ColumnDef{Type: fieldTypeString, Meta: []byte{fieldTypeEnum, pl}, Collation: uint16(et.Collation()), EnumValues: et.Values()}, nil
	case sqltypes.Set:
		st, ok := t.(sql.SetType)
		if !ok {
			return ColumnDef{}, fmt.Errorf("%w: %s", ErrUnsupportedColumnType, t)
		}
		pl := (int(st.NumberOfElements()) + 7) / 8
		if pl > 4 {
			pl = 8
		}
		if pl == 0 {
			pl = 1
		}
		return ColumnDef{Type: fieldTypeString, Meta: []byte{fieldTypeSet, byte(pl)}, Collation: uint16(st.Collation()), SetValues: st.Values()}, nil
	case sqltypes.Bit:
		bt, ok := t.(types.BitType)
		if !ok {
			return ColumnDef{}, fmt.Errorf("%w: %s", ErrUnsupportedColumnType, t)
		}
		n := bt.NumberOfBits()
		return ColumnDef{Type: fieldTypeBit, Meta: []byte{n % 8, n / 8}}, nil
	case sqltypes.TypeJSON:
		return ColumnDef{Type: fieldTypeJSON, Meta: []byte{4}}, nil
	}
	return ColumnDef{}, fmt.Errorf("%w: %s", ErrUnsupportedColumnType, t)
}

// blobPackLength returns the length-prefix size MySQL uses for a TEXT/BLOB
// column of the given maximum byte length.
func blobPackLength(maxBytes int64) int {
	switch {
	case maxBytes <= 0xff:
		return 1
	case maxBytes <= 0xffff:
		return 2
	case maxBytes <= 0xffffff:
		return 3
	}
	return 4
}

// codecCtx supplies a context to GMS conversions; created on first use.
type codecCtx struct{ ctx *sql.Context }

func (c *codecCtx) get() *sql.Context {
	if c.ctx == nil {
		c.ctx = sql.NewEmptyContext()
	}
	return c.ctx
}

// EncodeRow appends one row image as it appears in a WRITE/UPDATE/DELETE_ROWS
// event body for the given columns (all columns present): the NULL bitmap
// ((n+7)/8 bytes, bit i set = column i NULL) followed by each non-NULL value's
// binlog encoding. sch may be nil; when given, it must have one column per
// ColumnDef and is used for the character set of strings and to convert
// values whose Go type the codec does not take directly.
func EncodeRow(dst []byte, cols []ColumnDef, sch sql.Schema, row sql.Row) ([]byte, error) {
	if len(row) != len(cols) {
		return dst, fmt.Errorf("binlog: row has %d values for %d columns", len(row), len(cols))
	}
	if sch != nil && len(sch) != len(cols) {
		return dst, fmt.Errorf("binlog: schema has %d columns, column definitions %d", len(sch), len(cols))
	}
	var cc codecCtx
	start := len(dst)
	nb := (len(cols) + 7) / 8
	for i := 0; i < nb; i++ {
		dst = append(dst, 0)
	}
	if r := len(cols) % 8; r != 0 {
		// MySQL and MariaDB leave the unused bits of the last byte set.
		dst[start+nb-1] = 0xff << r
	}
	for i, c := range cols {
		v := row[i]
		if v != nil {
			if w, ok := v.(sql.AnyWrapper); ok {
				u, err := w.UnwrapAny(cc.get())
				if err != nil {
					return dst[:start], fmt.Errorf("binlog: column %d (%s): %w", i, c.Name, err)
				}
				v = u
			}
		}
		if v == nil {
			dst[start+i/8] |= 1 << (i % 8)
			continue
		}
		var t sql.Type
		if sch != nil {
			t = sch[i].Type
		}
		out, err := appendValue(dst, c, t, v, &cc)
		if err != nil && t != nil && errors.Is(err, errValueType) {
			// A Go type the codec does not take: let GMS convert it to the
			// column's own type, then try once more.
			var cv any
			cv, _, err = t.Convert(cc.get(), v)
			if err == nil {
				if cv == nil {
					dst[start+i/8] |= 1 << (i % 8)
					continue
				}
				out, err = appendValue(dst, c, t, cv, &cc)
			}
		}
		if err != nil {
			return dst[:start], fmt.Errorf("binlog: column %d (%s): %w", i, c.Name, err)
		}
		dst = out
	}
	return dst, nil
}

// errValueType marks a Go value whose type does not suit the column.
var errValueType = errors.New("value type does not match column type")

func valueTypeError(v any, c ColumnDef) error {
	return fmt.Errorf("%w: %T for column type %d", errValueType, v, c.RealType())
}

func appendValue(dst []byte, c ColumnDef, t sql.Type, v any, cc *codecCtx) ([]byte, error) {
	switch rt := c.RealType(); rt {
	case fieldTypeTiny, fieldTypeShort, fieldTypeInt24, fieldTypeLong, fieldTypeLonglong:
		size := intSize(rt)
		u, ok := intBits(v)
		if !ok {
			return dst, valueTypeError(v, c)
		}
		if !intFits(v, size) {
			return dst, fmt.Errorf("value %v out of range for a %d-byte integer", v, size)
		}
		for k := 0; k < size; k++ {
			dst = append(dst, byte(u>>(8*k)))
		}
		return dst, nil
	case fieldTypeFloat:
		var f float32
		switch x := v.(type) {
		case float32:
			f = x
		case float64:
			f = float32(x)
		default:
			return dst, valueTypeError(v, c)
		}
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f)), nil
	case fieldTypeDouble:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			return dst, valueTypeError(v, c)
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case fieldTypeNewdecimal:
		if len(c.Meta) != 2 {
			return dst, fmt.Errorf("%w: DECIMAL metadata %x", ErrMalformedRow, c.Meta)
		}
		var d *apd.Decimal
		switch x := v.(type) {
		case *apd.Decimal:
			d = x
		case apd.Decimal:
			d = &x
		default:
			return dst, valueTypeError(v, c)
		}
		return appendDecimal(dst, d, int(c.Meta[0]), int(c.Meta[1]))
	case fieldTypeDate:
		tm, ok := v.(time.Time)
		if !ok {
			return dst, valueTypeError(v, c)
		}
		tm = tm.UTC()
		var packed uint32
		if !isZeroTime(tm) {
			y, m, d := tm.Date()
			if y < 0 || y > 9999 {
				return dst, fmt.Errorf("date %v out of range", tm)
			}
			packed = uint32(d) | uint32(m)<<5 | uint32(y)<<9
		}
		return append(dst, byte(packed), byte(packed>>8), byte(packed>>16)), nil
	case fieldTypeDatetime2:
		tm, ok := v.(time.Time)
		if !ok {
			return dst, valueTypeError(v, c)
		}
		fsp, err := fspOf(c)
		if err != nil {
			return dst, err
		}
		tm = tm.UTC()
		var intPart uint64
		var frac int
		if !isZeroTime(tm) {
			y, m, d := tm.Date()
			if y < 0 || y > 9999 {
				return dst, fmt.Errorf("datetime %v out of range", tm)
			}
			ymd := uint64(y*13+int(m))<<5 | uint64(d)
			hms := uint64(tm.Hour())<<12 | uint64(tm.Minute())<<6 | uint64(tm.Second())
			intPart = ymd<<17 | hms
			frac = tm.Nanosecond() / 1000
		}
		p := intPart + 0x8000000000
		dst = append(dst, byte(p>>32), byte(p>>24), byte(p>>16), byte(p>>8), byte(p))
		return appendFraction(dst, frac, fsp), nil
	case fieldTypeTimestamp2:
		tm, ok := v.(time.Time)
		if !ok {
			return dst, valueTypeError(v, c)
		}
		fsp, err := fspOf(c)
		if err != nil {
			return dst, err
		}
		var sec int64
		var frac int
		if !isZeroTime(tm) {
			sec = tm.Unix()
			frac = tm.Nanosecond() / 1000
			if sec <= 0 || sec > math.MaxUint32 {
				return dst, fmt.Errorf("timestamp %v out of range", tm)
			}
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(sec))
		return appendFraction(dst, frac, fsp), nil
	case fieldTypeTimestamp:
		tm, ok := v.(time.Time)
		if !ok {
			return dst, valueTypeError(v, c)
		}
		var sec int64
		if !isZeroTime(tm) {
			sec = tm.Unix()
			if sec <= 0 || sec > math.MaxUint32 {
				return dst, fmt.Errorf("timestamp %v out of range", tm)
			}
		}
		return binary.LittleEndian.AppendUint32(dst, uint32(sec)), nil
	case fieldTypeDatetime:
		tm, ok := v.(time.Time)
		if !ok {
			return dst, valueTypeError(v, c)
		}
		var x uint64
		tm = tm.UTC()
		if !isZeroTime(tm) {
			y, m, d := tm.Date()
			if y < 0 || y > 9999 {
				return dst, fmt.Errorf("datetime %v out of range", tm)
			}
			x = (uint64(y)*10000+uint64(m)*100+uint64(d))*1000000 +
				uint64(tm.Hour())*10000 + uint64(tm.Minute())*100 + uint64(tm.Second())
		}
		return binary.LittleEndian.AppendUint64(dst, x), nil
	case fieldTypeTime:
		var us int64
		switch x := v.(type) {
		case types.Timespan:
			us = int64(x)
		case time.Duration:
			us = x.Microseconds()
		default:
			return dst, valueTypeError(v, c)
		}
		a := us
		if a < 0 {
			a = -a
		}
		sec := a / 1000000
		x := sec/3600*10000 + sec/60%60*100 + sec%60
		if x > 8385959 {
			return dst, fmt.Errorf("time value %v out of range", v)
		}
		if us < 0 {
			x = -x
		}
		return append(dst, byte(x), byte(x>>8), byte(x>>16)), nil
	case fieldTypeTime2:
		var us int64
		switch x := v.(type) {
		case types.Timespan:
			us = int64(x)
		case time.Duration:
			us = x.Microseconds()
		default:
			return dst, valueTypeError(v, c)
		}
		fsp, err := fspOf(c)
		if err != nil {
			return dst, err
		}
		return appendTime2(dst, us, fsp)
	case fieldTypeYear:
		var y int64
		switch x := v.(type) {
		case int16:
			y = int64(x)
		default:
			u, ok := intBits(v)
			if !ok {
				return dst, valueTypeError(v, c)
			}
			y = int64(u)
		}
		switch {
		case y == 0:
			return append(dst, 0), nil
		case y >= 1901 && y <= 2155:
			return append(dst, byte(y-1900)), nil
		}
		return dst, fmt.Errorf("year %d out of range", y)
	case fieldTypeVarchar, fieldTypeVarString:
		if len(c.Meta) != 2 {
			return dst, fmt.Errorf("%w: VARCHAR metadata %x", ErrMalformedRow, c.Meta)
		}
		maxLen := int(binary.LittleEndian.Uint16(c.Meta))
		b, err := stringBytes(c, t, v, cc)
		if err != nil {
			return dst, err
		}
		return appendPrefixed(dst, b, maxLen)
	case fieldTypeString:
		b, err := stringBytes(c, t, v, cc)
		if err != nil {
			return dst, err
		}
		return appendPrefixed(dst, b, c.stringMaxBytes())
	case fieldTypeBlob, fieldTypeTinyBlob, fieldTypeMediumBlob, fieldTypeLongBlob:
		if len(c.Meta) != 1 || c.Meta[0] < 1 || c.Meta[0] > 4 {
			return dst, fmt.Errorf("%w: BLOB metadata %x", ErrMalformedRow, c.Meta)
		}
		b, err := stringBytes(c, t, v, cc)
		if err != nil {
			return dst, err
		}
		pl := int(c.Meta[0])
		if uint64(len(b)) >= uint64(1)<<(8*pl) {
			return dst, fmt.Errorf("%d bytes do not fit a %d-byte length prefix", len(b), pl)
		}
		for k := 0; k < pl; k++ {
			dst = append(dst, byte(len(b)>>(8*k)))
		}
		return append(dst, b...), nil
	case fieldTypeEnum:
		pl := 1
		if len(c.Meta) == 2 {
			pl = int(c.Meta[1])
		}
		var idx uint64
		switch x := v.(type) {
		case string:
			et, ok := t.(sql.EnumType)
			if !ok {
				return dst, valueTypeError(v, c)
			}
			i := et.IndexOf(x)
			if i < 0 {
				return dst, fmt.Errorf("%q is not a member of the ENUM", x)
			}
			idx = uint64(i)
		default:
			u, ok := intBits(v)
			if !ok || isNegative(v) {
				return dst, valueTypeError(v, c)
			}
			idx = u
		}
		if pl != 1 && pl != 2 {
			return dst, fmt.Errorf("%w: ENUM pack length %d", ErrMalformedRow, pl)
		}
		if idx >= uint64(1)<<(8*pl) {
			return dst, fmt.Errorf("ENUM index %d does not fit %d bytes", idx, pl)
		}
		if pl == 1 {
			return append(dst, byte(idx)), nil
		}
		return binary.LittleEndian.AppendUint16(dst, uint16(idx)), nil
	case fieldTypeSet:
		pl := 1
		if len(c.Meta) == 2 {
			pl = int(c.Meta[1])
		}
		if pl < 1 || pl > 8 {
			return dst, fmt.Errorf("%w: SET pack length %d", ErrMalformedRow, pl)
		}
		u, ok := intBits(v)
		if !ok || isNegative(v) {
			return dst, valueTypeError(v, c)
		}
		if pl < 8 && u >= uint64(1)<<(8*pl) {
			return dst, fmt.Errorf("SET bits %#x do not fit %d bytes", u, pl)
		}
		for k := 0; k < pl; k++ {
			dst = append(dst, byte(u>>(8*k)))
		}
		return dst, nil
	case fieldTypeBit:
		nbits, nbytes, err := bitSize(c)
		if err != nil {
			return dst, err
		}
		u, ok := intBits(v)
		if !ok || isNegative(v) {
			return dst, valueTypeError(v, c)
		}
		if nbits < 64 && u >= uint64(1)<<nbits {
			return dst, fmt.Errorf("BIT value %#x does not fit %d bits", u, nbits)
		}
		for k := nbytes - 1; k >= 0; k-- {
			dst = append(dst, byte(u>>(8*k)))
		}
		return dst, nil
	case fieldTypeJSON:
		pl := 4
		if len(c.Meta) == 1 {
			pl = int(c.Meta[0])
		}
		if pl < 1 || pl > 4 {
			return dst, fmt.Errorf("%w: JSON pack length %d", ErrMalformedRow, pl)
		}
		doc, err := jsonValueOf(v, cc)
		if err != nil {
			return dst, err
		}
		lenAt := len(dst)
		dst = append(dst, make([]byte, pl)...)
		dst, err = appendJSONB(dst, doc)
		if err != nil {
			return dst[:lenAt], err
		}
		n := uint64(len(dst) - lenAt - pl)
		if n >= uint64(1)<<(8*pl) {
			return dst[:lenAt], fmt.Errorf("JSON value of %d bytes does not fit a %d-byte length", n, pl)
		}
		for k := 0; k < pl; k++ {
			dst[lenAt+k] = byte(n >> (8 * k))
		}
		return dst, nil
	}
	return dst, fmt.Errorf("%w: type code %d", ErrUnsupportedColumnType, c.RealType())
}

func intSize(t byte) int {
	switch t {
	case fieldTypeTiny:
		return 1
	case fieldTypeShort:
		return 2
	case fieldTypeInt24:
		return 3
	case fieldTypeLong:
		return 4
	}
	return 8
}

// intBits returns an integer value's two's complement bits.
func intBits(v any) (uint64, bool) {
	switch x := v.(type) {
	case int8:
		return uint64(int64(x)), true
	case int16:
		return uint64(int64(x)), true
	case int32:
		return uint64(int64(x)), true
	case int64:
		return uint64(x), true
	case int:
		return uint64(int64(x)), true
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case uint:
		return uint64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func isNegative(v any) bool {
	switch x := v.(type) {
	case int8:
		return x < 0
	case int16:
		return x < 0
	case int32:
		return x < 0
	case int64:
		return x < 0
	case int:
		return x < 0
	}
	return false
}

// intFits reports whether an integer value fits size bytes, either as a
// signed or as an unsigned number (the image does not say which).
func intFits(v any, size int) bool {
	if size == 8 {
		return true
	}
	bits := uint(8 * size)
	switch x := v.(type) {
	case int8, int16, int32, int64, int:
		s := int64(0)
		switch y := x.(type) {
		case int8:
			s = int64(y)
		case int16:
			s = int64(y)
		case int32:
			s = int64(y)
		case int64:
			s = y
		case int:
			s = int64(y)
		}
		return s >= -(int64(1)<<(bits-1)) && s < int64(1)<<bits
	}
	u, _ := intBits(v)
	return u < uint64(1)<<bits
}

func fspOf(c ColumnDef) (int, error) {
	if len(c.Meta) != 1 || c.Meta[0] > 6 {
		return 0, fmt.Errorf("%w: fractional-seconds metadata %x", ErrMalformedRow, c.Meta)
	}
	return int(c.Meta[0]), nil
}

func bitSize(c ColumnDef) (nbits, nbytes int, err error) {
	if len(c.Meta) != 2 || c.Meta[0] > 7 {
		return 0, 0, fmt.Errorf("%w: BIT metadata %x", ErrMalformedRow, c.Meta)
	}
	nbits = int(c.Meta[1])*8 + int(c.Meta[0])
	if nbits < 1 || nbits > 64 {
		return 0, 0, fmt.Errorf("%w: BIT(%d)", ErrMalformedRow, nbits)
	}
	return nbits, (nbits + 7) / 8, nil
}

// isZeroTime reports whether tm is GMS's zero date/datetime/timestamp
// ('0000-00-00 00:00:00').
func isZeroTime(tm time.Time) bool {
	return tm.Equal(types.ZeroTime)
}

// appendFraction appends the fractional-seconds bytes of a DATETIME2 or
// TIMESTAMP2 value; µs is truncated to fsp digits.
func appendFraction(dst []byte, us, fsp int) []byte {
	us -= us % int(pow10[6-fsp])
	switch fsp {
	case 1, 2:
		return append(dst, byte(us/10000))
	case 3, 4:
		return binary.BigEndian.AppendUint16(dst, uint16(us/100))
	case 5, 6:
		return append(dst, byte(us>>16), byte(us>>8), byte(us))
	}
	return dst
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

func appendTime2(dst []byte, us int64, fsp int) ([]byte, error) {
	neg := us < 0
	a := us
	if neg {
		a = -us
	}
	sec := a / 1000000
	frac := a % 1000000
	frac -= frac % pow10[6-fsp]
	hours := sec / 3600
	if hours > 1023 {
		return dst, fmt.Errorf("time value of %d hours out of range", hours)
	}
	hms := hours<<12 | (sec/60%60)<<6 | sec%60
	nr := hms<<24 + frac
	if neg {
		nr = -nr
	}
	switch fsp {
	case 0:
		p := uint32(0x800000 + (nr >> 24))
		return append(dst, byte(p>>16), byte(p>>8), byte(p)), nil
	case 1, 2:
		p := uint32(0x800000 + (nr >> 24))
		f := nr % (1 << 24) / 10000
		return append(dst, byte(p>>16), byte(p>>8), byte(p), byte(int8(f))), nil
	case 3, 4:
		p := uint32(0x800000 + (nr >> 24))
		f := nr % (1 << 24) / 100
		dst = append(dst, byte(p>>16), byte(p>>8), byte(p))
		return binary.BigEndian.AppendUint16(dst, uint16(int16(f))), nil
	}
	p := uint64(nr + 0x800000000000)
	return append(dst, byte(p>>40), byte(p>>32), byte(p>>24), byte(p>>16), byte(p>>8), byte(p)), nil
}

// appendPrefixed appends b with the 1-byte (maxLen < 256) or 2-byte length
// prefix of CHAR and VARCHAR columns.
func appendPrefixed(dst, b []byte, maxLen int) ([]byte, error) {
	if len(b) > maxLen {
		return dst, fmt.Errorf("%d bytes exceed the column's maximum of %d", len(b), maxLen)
	}
	if maxLen < 256 {
		dst = append(dst, byte(len(b)))
	} else {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(b)))
	}
	return append(dst, b...), nil
}

// charsetOf returns the character set strings of column c are stored in.
func charsetOf(c ColumnDef, t sql.Type) sql.CharacterSetID {
	if st, ok := t.(sql.StringType); ok {
		return st.CharacterSet()
	}
	if c.Collation != 0 {
		return sql.CollationID(c.Collation).CharacterSet()
	}
	return sql.CharacterSet_utf8mb4
}

func isUTF8Charset(cs sql.CharacterSetID) bool {
	return cs == sql.CharacterSet_utf8mb4 || cs == sql.CharacterSet_utf8mb3 || cs == sql.CharacterSet_binary
}

// stringBytes returns the bytes of a string value in the column's character
// set. The result may share memory with v (a string's bytes included):
// callers only read it.
func stringBytes(c ColumnDef, t sql.Type, v any, cc *codecCtx) ([]byte, error) {
	var b []byte
	isString := false
	switch x := v.(type) {
	case string:
		// A read-only view of the string: no copy per value written.
		b = unsafe.Slice(unsafe.StringData(x), len(x))
		isString = true
	case []byte:
		b = x
	default:
		return nil, valueTypeError(v, c)
	}
	cs := charsetOf(c, t)
	if !isString || isUTF8Charset(cs) {
		return b, nil
	}
	b = []byte(v.(string)) // the encoder gets bytes of its own
	enc := cs.Encoder()
	if enc == nil {
		return nil, fmt.Errorf("%w: no encoder for character set %s", ErrUnsupportedColumnType, cs)
	}
	out, ok := enc.Encode(b)
	if !ok {
		return nil, fmt.Errorf("string %q cannot be represented in character set %s", v, cs)
	}
	return out, nil
}

// --- DECIMAL ---

var dig2bytes = [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}

// decimalSize returns the binary size of DECIMAL(prec, scale).
func decimalSize(prec, scale int) int {
	intg := prec - scale
	return intg/9*4 + dig2bytes[intg%9] + scale/9*4 + dig2bytes[scale%9]
}

func validDecimalMeta(prec, scale int) bool {
	return prec >= 1 && prec <= 65 && scale >= 0 && scale <= 30 && scale <= prec
}

// appendDecimal appends d in MySQL's binary decimal format for
// DECIMAL(prec, scale), rounding half away from zero to scale digits.
func appendDecimal(dst []byte, d *apd.Decimal, prec, scale int) ([]byte, error) {
	if !validDecimalMeta(prec, scale) {
		return dst, fmt.Errorf("%w: DECIMAL(%d,%d)", ErrMalformedRow, prec, scale)
	}
	if d.Form != apd.Finite {
		return dst, fmt.Errorf("decimal %s cannot be stored", d)
	}
	intg := prec - scale
	digits := ""
	if !d.IsZero() {
		nd := d.NumDigits() + int64(d.Exponent) // digits before the decimal point
		if nd > int64(intg) {
			return dst, fmt.Errorf("decimal %s out of range for DECIMAL(%d,%d)", d, prec, scale)
		}
		if nd >= -int64(scale) {
			var q apd.Decimal
			ctx := apd.BaseContext.WithPrecision(uint32(prec) + 2)
			ctx.Rounding = apd.RoundHalfUp
			if _, err := ctx.Quantize(&q, d, -int32(scale)); err != nil {
				return dst, fmt.Errorf("decimal %s: %w", d, err)
			}
			if !q.IsZero() {
				digits = q.Coeff.String()
			}
		}
	}
	if len(digits) > prec {
		return dst, fmt.Errorf("decimal %s out of range for DECIMAL(%d,%d)", d, prec, scale)
	}
	neg := d.Negative && digits != ""
	digits = strings.Repeat("0", prec-len(digits)) + digits
	start := len(dst)
	put := func(s string, n int) {
		x, _ := strconv.ParseUint(s, 10, 32)
		for k := n - 1; k >= 0; k-- {
			dst = append(dst, byte(x>>(8*k)))
		}
	}
	intDigits, fracDigits := digits[:intg], digits[intg:]
	i := intg % 9
	if i > 0 {
		put(intDigits[:i], dig2bytes[i])
	}
	for ; i < intg; i += 9 {
		put(intDigits[i:i+9], 4)
	}
	j := 0
	for ; j+9 <= scale; j += 9 {
		put(fracDigits[j:j+9], 4)
	}
	if j < scale {
		put(fracDigits[j:], dig2bytes[scale-j])
	}
	if neg {
		for k := start; k < len(dst); k++ {
			dst[k] ^= 0xff
		}
	}
	dst[start] ^= 0x80
	return dst, nil
}

// readDecimal decodes a binary DECIMAL(prec, scale) value at the start of b.
func readDecimal(b []byte, prec, scale int) (*apd.Decimal, int, error) {
	if !validDecimalMeta(prec, scale) {
		return nil, 0, fmt.Errorf("%w: DECIMAL(%d,%d)", ErrMalformedRow, prec, scale)
	}
	size := decimalSize(prec, scale)
	if len(b) < size {
		return nil, 0, fmt.Errorf("%w: DECIMAL needs %d bytes, %d left", ErrMalformedRow, size, len(b))
	}
	buf := make([]byte, size)
	copy(buf, b[:size])
	neg := buf[0]&0x80 == 0
	buf[0] ^= 0x80
	if neg {
		for k := range buf {
			buf[k] ^= 0xff
		}
	}
	var sb strings.Builder
	pos := 0
	group := func(ndig int) error {
		n := dig2bytes[ndig]
		var x uint64
		for k := 0; k < n; k++ {
			x = x<<8 | uint64(buf[pos+k])
		}
		pos += n
		if x >= uint64(pow10Big(ndig)) {
			return fmt.Errorf("%w: DECIMAL group %d has more than %d digits", ErrMalformedRow, x, ndig)
		}
		s := strconv.FormatUint(x, 10)
		sb.WriteString(strings.Repeat("0", ndig-len(s)))
		sb.WriteString(s)
		return nil
	}
	intg := prec - scale
	i := intg % 9
	if i > 0 {
		if err := group(i); err != nil {
			return nil, 0, err
		}
	}
	for ; i < intg; i += 9 {
		if err := group(9); err != nil {
			return nil, 0, err
		}
	}
	j := 0
	for ; j+9 <= scale; j += 9 {
		if err := group(9); err != nil {
			return nil, 0, err
		}
	}
	if j < scale {
		if err := group(scale - j); err != nil {
			return nil, 0, err
		}
	}
	digits := strings.TrimLeft(sb.String(), "0")
	var coeff apd.BigInt
	if digits != "" {
		if _, ok := coeff.SetString(digits, 10); !ok {
			return nil, 0, fmt.Errorf("%w: DECIMAL digits %q", ErrMalformedRow, digits)
		}
	}
	d := apd.NewWithBigInt(&coeff, -int32(scale))
	d.Negative = neg && digits != ""
	return d, size, nil
}

func pow10Big(n int) int64 {
	x := int64(1)
	for ; n > 0; n-- {
		x *= 10
	}
	return x
}

// --- decoding ---

// DecodeRow parses one row image, as found in a WRITE/UPDATE/DELETE_ROWS event
// body, back into a GMS row. present says which columns the event's column
// bitmap includes (nil means all); the NULL bitmap has one bit per present
// column. The returned row has one value per ColumnDef, nil for NULL and for
// absent columns, and the second result is the number of bytes consumed.
//
// With sch (one column per ColumnDef) the values are exactly the Go types GMS
// stores for that schema; when the binlog's type differs from the schema's,
// the value is converted with the schema type's Convert. Without sch
// (a replica of a foreign primary) the values are the natural ones for the
// binlog type: signedness from ColumnDef.Unsigned, strings as string unless
// the column is BLOB or its Collation is binary (then []byte).
//
// DecodeRow never panics on malformed input; it returns an error wrapping
// ErrMalformedRow.
func DecodeRow(data []byte, cols []ColumnDef, sch sql.Schema, present []bool) (sql.Row, int, error) {
	if sch != nil && len(sch) != len(cols) {
		return nil, 0, fmt.Errorf("binlog: schema has %d columns, column definitions %d", len(sch), len(cols))
	}
	if present != nil && len(present) != len(cols) {
		return nil, 0, fmt.Errorf("binlog: present bitmap has %d columns, column definitions %d", len(present), len(cols))
	}
	npresent := len(cols)
	if present != nil {
		npresent = 0
		for _, p := range present {
			if p {
				npresent++
			}
		}
	}
	nb := (npresent + 7) / 8
	if len(data) < nb {
		return nil, 0, fmt.Errorf("%w: row image shorter than its NULL bitmap", ErrMalformedRow)
	}
	nulls := data[:nb]
	pos := nb
	var cc codecCtx
	row := make(sql.Row, len(cols))
	j := 0
	for i, c := range cols {
		if present != nil && !present[i] {
			continue
		}
		isNull := nulls[j/8]&(1<<(j%8)) != 0
		j++
		if isNull {
			continue
		}
		var t sql.Type
		if sch != nil {
			t = sch[i].Type
		}
		v, n, err := readValue(data[pos:], c, t)
		if err != nil {
			return nil, 0, fmt.Errorf("binlog: column %d (%s): %w", i, c.Name, err)
		}
		pos += n
		if t != nil && v != nil {
			if vt := t.ValueType(); vt != nil && !reflect.TypeOf(v).AssignableTo(vt) {
				cv, _, err := t.Convert(cc.get(), v)
				if err != nil {
					return nil, 0, fmt.Errorf("binlog: column %d (%s): converting %T to %s: %w", i, c.Name, v, t, err)
				}
				v = cv
			}
		}
		row[i] = v
	}
	return row, pos, nil
}

func short(what string, need, have int) error {
	return fmt.Errorf("%w: %s needs %d bytes, %d left", ErrMalformedRow, what, need, have)
}

// schemaUnsigned reports whether t is an unsigned integer type.
func schemaUnsigned(t sql.Type) (unsigned, known bool) {
	if t == nil {
		return false, false
	}
	switch t.Type() {
	case sqltypes.Uint8, sqltypes.Uint16, sqltypes.Uint24, sqltypes.Uint32, sqltypes.Uint64:
		return true, true
	case sqltypes.Int8, sqltypes.Int16, sqltypes.Int24, sqltypes.Int32, sqltypes.Int64:
		return false, true
	}
	return false, false
}

func readValue(b []byte, c ColumnDef, t sql.Type) (any, int, error) {
	switch rt := c.RealType(); rt {
	case fieldTypeTiny, fieldTypeShort, fieldTypeInt24, fieldTypeLong, fieldTypeLonglong:
		size := intSize(rt)
		if len(b) < size {
			return nil, 0, short("integer", size, len(b))
		}
		var u uint64
		for k := size - 1; k >= 0; k-- {
			u = u<<8 | uint64(b[k])
		}
		unsigned := c.Unsigned
		if su, ok := schemaUnsigned(t); ok {
			unsigned = su
		}
		var qt query.Type
		if t != nil {
			qt = t.Type()
		}
		if unsigned {
			switch {
			case size == 1 && (t == nil || qt == sqltypes.Uint8):
				return uint8(u), 1, nil
			case size == 2 && (t == nil || qt == sqltypes.Uint16):
				return uint16(u), 2, nil
			case size == 3 && (t == nil || qt == sqltypes.Uint24):
				return uint32(u), 3, nil
			case size == 4 && (t == nil || qt == sqltypes.Uint32):
				return uint32(u), 4, nil
			}
			return u, size, nil
		}
		s := int64(u<<(64-8*size)) >> (64 - 8*size) // sign-extend
		switch {
		case size == 1 && (t == nil || qt == sqltypes.Int8):
			return int8(s), 1, nil
		case size == 2 && (t == nil || qt == sqltypes.Int16):
			return int16(s), 2, nil
		case size == 3 && (t == nil || qt == sqltypes.Int24):
			return int32(s), 3, nil
		case size == 4 && (t == nil || qt == sqltypes.Int32):
			return int32(s), 4, nil
		}
		return s, size, nil
	case fieldTypeFloat:
		if len(b) < 4 {
			return nil, 0, short("FLOAT", 4, len(b))
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), 4, nil
	case fieldTypeDouble:
		if len(b) < 8 {
			return nil, 0, short("DOUBLE", 8, len(b))
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), 8, nil
	case fieldTypeNewdecimal:
		if len(c.Meta) != 2 {
			return nil, 0, fmt.Errorf("%w: DECIMAL metadata %x", ErrMalformedRow, c.Meta)
		}
		return readDecimal(b, int(c.Meta[0]), int(c.Meta[1]))
	case fieldTypeDate:
		if len(b) < 3 {
			return nil, 0, short("DATE", 3, len(b))
		}
		p := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		tm, err := makeDate(int(p>>9), int(p>>5&15), int(p&31), 0, 0, 0, 0)
		return tm, 3, err
	case fieldTypeDatetime2:
		fsp, err := fspOf(c)
		if err != nil {
			return nil, 0, err
		}
		n := 5 + (fsp+1)/2
		if len(b) < n {
			return nil, 0, short("DATETIME2", n, len(b))
		}
		p := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
		if p < 0x8000000000 {
			return nil, 0, fmt.Errorf("%w: negative DATETIME2", ErrMalformedRow)
		}
		ip := p - 0x8000000000
		frac, err := readFraction(b[5:], fsp)
		if err != nil {
			return nil, 0, err
		}
		ymd, hms := ip>>17, ip&(1<<17-1)
		ym := ymd >> 5
		tm, err := makeDate(int(ym/13), int(ym%13), int(ymd&31), int(hms>>12), int(hms>>6&63), int(hms&63), frac)
		return tm, n, err
	case fieldTypeTimestamp2:
		fsp, err := fspOf(c)
		if err != nil {
			return nil, 0, err
		}
		n := 4 + (fsp+1)/2
		if len(b) < n {
			return nil, 0, short("TIMESTAMP2", n, len(b))
		}
		sec := binary.BigEndian.Uint32(b)
		frac, err := readFraction(b[4:], fsp)
		if err != nil {
			return nil, 0, err
		}
		if sec == 0 {
			return types.ZeroTime, n, nil
		}
		return time.Unix(int64(sec), int64(frac)*1000).UTC(), n, nil
	case fieldTypeTime2:
		fsp, err := fspOf(c)
		if err != nil {
			return nil, 0, err
		}
		return readTime2(b, fsp)
	case fieldTypeYear:
		if len(b) < 1 {
			return nil, 0, short("YEAR", 1, 0)
		}
		if b[0] == 0 {
			return int16(0), 1, nil
		}
		return int16(b[0]) + 1900, 1, nil
	case fieldTypeTimestamp:
		if len(b) < 4 {
			return nil, 0, short("TIMESTAMP", 4, len(b))
		}
		sec := binary.LittleEndian.Uint32(b)
		if sec == 0 {
			return types.ZeroTime, 4, nil
		}
		return time.Unix(int64(sec), 0).UTC(), 4, nil
	case fieldTypeDatetime:
		if len(b) < 8 {
			return nil, 0, short("DATETIME", 8, len(b))
		}
		x := binary.LittleEndian.Uint64(b)
		d, s := x/1000000, x%1000000
		tm, err := makeDate(int(d/10000), int(d/100%100), int(d%100), int(s/10000), int(s/100%100), int(s%100), 0)
		return tm, 8, err
	case fieldTypeTime:
		if len(b) < 3 {
			return nil, 0, short("TIME", 3, len(b))
		}
		x := int64(int32(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16) << 8 >> 8)
		neg := x < 0
		if neg {
			x = -x
		}
		h, m, s := x/10000, x/100%100, x%100
		if m > 59 || s > 59 {
			return nil, 0, fmt.Errorf("%w: TIME %d", ErrMalformedRow, x)
		}
		us := ((h*60+m)*60 + s) * 1000000
		if neg {
			us = -us
		}
		return types.Timespan(us), 3, nil
	case fieldTypeVarchar, fieldTypeVarString:
		if len(c.Meta) != 2 {
			return nil, 0, fmt.Errorf("%w: VARCHAR metadata %x", ErrMalformedRow, c.Meta)
		}
		raw, n, err := readPrefixed(b, int(binary.LittleEndian.Uint16(c.Meta)))
		if err != nil {
			return nil, 0, err
		}
		v, err := stringValue(c, t, raw, false)
		return v, n, err
	case fieldTypeString:
		raw, n, err := readPrefixed(b, c.stringMaxBytes())
		if err != nil {
			return nil, 0, err
		}
		v, err := stringValue(c, t, raw, false)
		return v, n, err
	case fieldTypeBlob, fieldTypeTinyBlob, fieldTypeMediumBlob, fieldTypeLongBlob:
		if len(c.Meta) != 1 || c.Meta[0] < 1 || c.Meta[0] > 4 {
			return nil, 0, fmt.Errorf("%w: BLOB metadata %x", ErrMalformedRow, c.Meta)
		}
		raw, n, err := readLengthPrefixed(b, int(c.Meta[0]))
		if err != nil {
			return nil, 0, err
		}
		v, err := stringValue(c, t, raw, true)
		return v, n, err
	case fieldTypeEnum:
		pl := 1
		if len(c.Meta) == 2 {
			pl = int(c.Meta[1])
		}
		switch pl {
		case 1:
			if len(b) < 1 {
				return nil, 0, short("ENUM", 1, 0)
			}
			return uint16(b[0]), 1, nil
		case 2:
			if len(b) < 2 {
				return nil, 0, short("ENUM", 2, len(b))
			}
			return binary.LittleEndian.Uint16(b), 2, nil
		}
		return nil, 0, fmt.Errorf("%w: ENUM pack length %d", ErrMalformedRow, pl)
	case fieldTypeSet:
		pl := 1
		if len(c.Meta) == 2 {
			pl = int(c.Meta[1])
		}
		if pl < 1 || pl > 8 {
			return nil, 0, fmt.Errorf("%w: SET pack length %d", ErrMalformedRow, pl)
		}
		if len(b) < pl {
			return nil, 0, short("SET", pl, len(b))
		}
		var u uint64
		for k := pl - 1; k >= 0; k-- {
			u = u<<8 | uint64(b[k])
		}
		return u, pl, nil
	case fieldTypeBit:
		nbits, nbytes, err := bitSize(c)
		if err != nil {
			return nil, 0, err
		}
		if len(b) < nbytes {
			return nil, 0, short("BIT", nbytes, len(b))
		}
		var u uint64
		for k := 0; k < nbytes; k++ {
			u = u<<8 | uint64(b[k])
		}
		if nbits < 64 && u >= uint64(1)<<nbits {
			return nil, 0, fmt.Errorf("%w: BIT(%d) value %#x", ErrMalformedRow, nbits, u)
		}
		return u, nbytes, nil
	case fieldTypeJSON:
		pl := 4
		if len(c.Meta) == 1 {
			pl = int(c.Meta[0])
		}
		if pl < 1 || pl > 4 {
			return nil, 0, fmt.Errorf("%w: JSON pack length %d", ErrMalformedRow, pl)
		}
		raw, n, err := readLengthPrefixed(b, pl)
		if err != nil {
			return nil, 0, err
		}
		val, err := decodeJSONB(raw)
		if err != nil {
			return nil, 0, err
		}
		return types.JSONDocument{Val: val}, n, nil
	}
	return nil, 0, fmt.Errorf("%w: type code %d", ErrUnsupportedColumnType, c.RealType())
}

// makeDate builds a GMS time.Time from MySQL date fields; all-zero fields
// are GMS's zero time. Dates with a zero month or day, or invalid ones such as
// February 30 (which MySQL allows in some SQL modes), cannot be represented
// in GMS and are an error.
func makeDate(y, mo, d, h, mi, s, us int) (time.Time, error) {
	if y == 0 && mo == 0 && d == 0 && h == 0 && mi == 0 && s == 0 && us == 0 {
		return types.ZeroTime, nil
	}
	if y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || us > 999999 {
		return time.Time{}, fmt.Errorf("%w: date %04d-%02d-%02d %02d:%02d:%02d.%06d cannot be represented", ErrMalformedRow, y, mo, d, h, mi, s, us)
	}
	tm := time.Date(y, time.Month(mo), d, h, mi, s, us*1000, time.UTC)
	if tm.Day() != d {
		return time.Time{}, fmt.Errorf("%w: date %04d-%02d-%02d does not exist", ErrMalformedRow, y, mo, d)
	}
	return tm, nil
}

func readFraction(b []byte, fsp int) (int, error) {
	var us int
	switch fsp {
	case 1, 2:
		us = int(b[0]) * 10000
	case 3, 4:
		us = int(binary.BigEndian.Uint16(b)) * 100
	case 5, 6:
		us = int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	}
	if us > 999999 {
		return 0, fmt.Errorf("%w: fraction %d µs", ErrMalformedRow, us)
	}
	return us, nil
}

func readTime2(b []byte, fsp int) (any, int, error) {
	n := 3 + (fsp+1)/2
	if len(b) < n {
		return nil, 0, short("TIME2", n, len(b))
	}
	ip := int64(uint32(b[0])<<16|uint32(b[1])<<8|uint32(b[2])) - 0x800000
	var nr int64
	switch fsp {
	case 0:
		nr = ip << 24
	case 1, 2:
		f := int64(b[3])
		if ip < 0 && f != 0 {
			ip++
			f -= 0x100
		}
		nr = ip<<24 + f*10000
	case 3, 4:
		f := int64(binary.BigEndian.Uint16(b[3:]))
		if ip < 0 && f != 0 {
			ip++
			f -= 0x10000
		}
		nr = ip<<24 + f*100
	default:
		var u uint64
		for k := 0; k < 6; k++ {
			u = u<<8 | uint64(b[k])
		}
		nr = int64(u) - 0x800000000000
	}
	neg := nr < 0
	if neg {
		nr = -nr
	}
	hms, frac := nr>>24, nr&(1<<24-1)
	h, m, s := hms>>12, hms>>6&63, hms&63
	// TIME2 keeps 10 bits of hours; a larger magnitude (only the most negative packed values
	// give one) is not a value any server writes.
	if h > 1023 || m > 59 || s > 59 || frac > 999999 {
		return nil, 0, fmt.Errorf("%w: TIME2 %d:%d:%d.%d", ErrMalformedRow, h, m, s, frac)
	}
	us := ((h*60+m)*60+s)*1000000 + frac
	if neg {
		us = -us
	}
	return types.Timespan(us), n, nil
}

// readPrefixed reads a CHAR/VARCHAR value: a 1-byte length when maxLen < 256,
// else a 2-byte one.
func readPrefixed(b []byte, maxLen int) ([]byte, int, error) {
	pl := 1
	if maxLen >= 256 {
		pl = 2
	}
	raw, n, err := readLengthPrefixed(b, pl)
	if err == nil && len(raw) > maxLen {
		return nil, 0, fmt.Errorf("%w: string of %d bytes in a column of at most %d", ErrMalformedRow, len(raw), maxLen)
	}
	return raw, n, err
}

func readLengthPrefixed(b []byte, pl int) ([]byte, int, error) {
	if len(b) < pl {
		return nil, 0, short("length prefix", pl, len(b))
	}
	var l uint64
	for k := pl - 1; k >= 0; k-- {
		l = l<<8 | uint64(b[k])
	}
	if l > uint64(len(b)-pl) {
		return nil, 0, short("string", int(min(l, math.MaxInt32)), len(b)-pl)
	}
	return b[pl : pl+int(l)], pl + int(l), nil
}

// stringValue converts raw column bytes to the Go value GMS stores: []byte
// for binary types (BINARY zero-padded to its length), otherwise a UTF-8
// string transcoded from the column's character set.
func stringValue(c ColumnDef, t sql.Type, raw []byte, blob bool) (any, error) {
	binaryCol := false
	if st, ok := t.(sql.StringType); ok {
		binaryCol = st.CharacterSet() == sql.CharacterSet_binary
		if binaryCol && st.Type() == sqltypes.Binary && int64(len(raw)) < st.MaxByteLength() {
			padded := make([]byte, st.MaxByteLength())
			copy(padded, raw)
			return padded, nil
		}
	} else if t != nil {
		binaryCol = false
	} else {
		binaryCol = c.Collation == collationBinary || (blob && c.Collation == 0)
	}
	if binaryCol {
		return append([]byte(nil), raw...), nil
	}
	cs := charsetOf(c, t)
	if isUTF8Charset(cs) {
		return string(raw), nil
	}
	enc := cs.Encoder()
	if enc == nil {
		return nil, fmt.Errorf("%w: no decoder for character set %s", ErrUnsupportedColumnType, cs)
	}
	out, ok := enc.Decode(raw)
	if !ok {
		return nil, fmt.Errorf("%w: bytes %q are not valid %s", ErrMalformedRow, raw, cs)
	}
	return string(out), nil
}

// --- JSON ---

// JSONB type bytes.
const (
	jsonbSmallObject = 0x00
	jsonbLargeObject = 0x01
	jsonbSmallArray  = 0x02
	jsonbLargeArray  = 0x03
	jsonbLiteral     = 0x04
	jsonbInt16       = 0x05
	jsonbUint16      = 0x06
	jsonbInt32       = 0x07
	jsonbUint32      = 0x08
	jsonbInt64       = 0x09
	jsonbUint64      = 0x0a
	jsonbDouble      = 0x0b
	jsonbString      = 0x0c
	jsonbOpaque      = 0x0f

	jsonbNull  = 0x00
	jsonbTrue  = 0x01
	jsonbFalse = 0x02

	jsonMaxDepth = 100
)

// maxExactFloat is 2^53: integers up to it convert to float64 and back exactly.
const maxExactFloat = 1 << 53

// jsonValueOf returns the plain Go value tree of a JSON column value.
func jsonValueOf(v any, cc *codecCtx) (any, error) {
	switch x := v.(type) {
	case sql.JSONWrapper:
		return x.ToInterface(cc.get())
	case string:
		return parseJSONText([]byte(x))
	case []byte:
		return parseJSONText(x)
	}
	return nil, fmt.Errorf("%w: %T for a JSON column", errValueType, v)
}

func parseJSONText(b []byte) (any, error) {
	var val any
	if err := json.Unmarshal(b, &val); err != nil {
		return nil, fmt.Errorf("invalid JSON text: %w", err)
	}
	return val, nil
}

// appendJSONB appends the binary JSON encoding of v (type byte and value).
func appendJSONB(dst []byte, v any) ([]byte, error) {
	t, payload, err := jsonbEncode(v, 0)
	if err != nil {
		return dst, err
	}
	dst = append(dst, t)
	return append(dst, payload...), nil
}

type jsonbNumber struct {
	neg bool   // an integer < 0, held in u as two's complement
	u   uint64 // integer bits
	f   float64
	isF bool
}

func jsonNumber(v any) (jsonbNumber, bool) {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxExactFloat {
			i := int64(x)
			return jsonbNumber{neg: i < 0, u: uint64(i)}, true
		}
		return jsonbNumber{f: x, isF: true}, true
	case float32:
		return jsonNumber(float64(x))
	case int, int8, int16, int32, int64:
		u, _ := intBits(x)
		return jsonbNumber{neg: int64(u) < 0, u: u}, true
	case uint, uint8, uint16, uint32, uint64:
		u, _ := intBits(x)
		return jsonbNumber{u: u}, true
	}
	return jsonbNumber{}, false
}

// jsonbEncode returns the type byte and payload of v.
func jsonbEncode(v any, depth int) (byte, []byte, error) {
	if depth > jsonMaxDepth {
		return 0, nil, fmt.Errorf("JSON document exceeds depth %d", jsonMaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return jsonbLiteral, []byte{jsonbNull}, nil
	case bool:
		if x {
			return jsonbLiteral, []byte{jsonbTrue}, nil
		}
		return jsonbLiteral, []byte{jsonbFalse}, nil
	case string:
		if !utf8.ValidString(x) {
			return 0, nil, fmt.Errorf("JSON string %q is not valid UTF-8", x)
		}
		return jsonbString, append(appendVarLen(nil, uint64(len(x))), x...), nil
	case map[string]any:
		return jsonbContainer(x, nil, true, depth)
	case []any:
		return jsonbContainer(nil, x, false, depth)
	case *apd.Decimal:
		return jsonbDecimal(x)
	case apd.Decimal:
		return jsonbDecimal(&x)
	case time.Time:
		return jsonbOpaque, appendOpaque(nil, fieldTypeDatetime, packedDatetime(x)), nil
	case sql.JSONWrapper:
		inner, err := x.ToInterface(context.Background())
		if err != nil {
			return 0, nil, err
		}
		return jsonbEncode(inner, depth)
	}
	n, ok := jsonNumber(v)
	if !ok {
		return 0, nil, fmt.Errorf("%w: %T inside a JSON document", errValueType, v)
	}
	switch {
	case n.isF:
		if math.IsNaN(n.f) || math.IsInf(n.f, 0) {
			return 0, nil, fmt.Errorf("JSON cannot hold %v", n.f)
		}
		return jsonbDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(n.f)), nil
	case n.neg:
		s := int64(n.u)
		switch {
		case s >= math.MinInt16:
			return jsonbInt16, binary.LittleEndian.AppendUint16(nil, uint16(s)), nil
		case s >= math.MinInt32:
			return jsonbInt32, binary.LittleEndian.AppendUint32(nil, uint32(s)), nil
		}
		return jsonbInt64, binary.LittleEndian.AppendUint64(nil, n.u), nil
	default:
		switch {
		case n.u <= math.MaxInt16:
			return jsonbInt16, binary.LittleEndian.AppendUint16(nil, uint16(n.u)), nil
		case n.u <= math.MaxInt32:
			return jsonbInt32, binary.LittleEndian.AppendUint32(nil, uint32(n.u)), nil
		case n.u <= math.MaxInt64:
			return jsonbInt64, binary.LittleEndian.AppendUint64(nil, n.u), nil
		}
		return jsonbUint64, binary.LittleEndian.AppendUint64(nil, n.u), nil
	}
}

func jsonbDecimal(d *apd.Decimal) (byte, []byte, error) {
	if d.Form != apd.Finite {
		return 0, nil, fmt.Errorf("JSON cannot hold %s", d)
	}
	scale := 0
	if d.Exponent < 0 {
		scale = int(-d.Exponent)
	}
	intDigits := int(d.NumDigits()) + int(d.Exponent)
	if intDigits < 1 {
		intDigits = 1
	}
	prec := intDigits + scale
	if scale > 30 || prec > 65 {
		// Out of MySQL's DECIMAL range: store the nearest double instead.
		f, err := d.Float64()
		if err != nil {
			return 0, nil, err
		}
		return jsonbDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), nil
	}
	data := []byte{byte(prec), byte(scale)}
	data, err := appendDecimal(data, d, prec, scale)
	if err != nil {
		return 0, nil, err
	}
	return jsonbOpaque, appendOpaque(nil, fieldTypeNewdecimal, data), nil
}

func appendOpaque(dst []byte, fieldType byte, data []byte) []byte {
	dst = append(dst, fieldType)
	dst = appendVarLen(dst, uint64(len(data)))
	return append(dst, data...)
}

// packedDatetime returns MySQL's in-memory packed DATETIME (as stored in
// JSON opaque values): 8 bytes little-endian of (ymd<<17 | hms)<<24 | µs.
func packedDatetime(tm time.Time) []byte {
	var p int64
	if !isZeroTime(tm) {
		tm = tm.UTC()
		y, m, d := tm.Date()
		ymd := int64(y*13+int(m))<<5 | int64(d)
		hms := int64(tm.Hour())<<12 | int64(tm.Minute())<<6 | int64(tm.Second())
		p = (ymd<<17|hms)<<24 | int64(tm.Nanosecond()/1000)
	}
	return binary.LittleEndian.AppendUint64(nil, uint64(p))
}

func appendVarLen(dst []byte, n uint64) []byte {
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	return append(dst, byte(n))
}

type jsonbMember struct {
	key     string
	typ     byte
	payload []byte
}

// jsonbInlined reports whether a value of type t is stored in its value entry.
func jsonbInlined(t byte, large bool) bool {
	switch t {
	case jsonbLiteral, jsonbInt16, jsonbUint16:
		return true
	case jsonbInt32, jsonbUint32:
		return large
	}
	return false
}

func jsonbContainer(obj map[string]any, arr []any, isObject bool, depth int) (byte, []byte, error) {
	var members []jsonbMember
	if isObject {
		members = make([]jsonbMember, 0, len(obj))
		for k, v := range obj {
			if len(k) > math.MaxUint16 {
				return 0, nil, fmt.Errorf("JSON object key of %d bytes is too long", len(k))
			}
			if !utf8.ValidString(k) {
				return 0, nil, fmt.Errorf("JSON object key %q is not valid UTF-8", k)
			}
			t, p, err := jsonbEncode(v, depth+1)
			if err != nil {
				return 0, nil, err
			}
			members = append(members, jsonbMember{key: k, typ: t, payload: p})
		}
		sort.Slice(members, func(i, j int) bool {
			a, b := members[i].key, members[j].key
			if len(a) != len(b) {
				return len(a) < len(b)
			}
			return a < b
		})
	} else {
		members = make([]jsonbMember, 0, len(arr))
		for _, v := range arr {
			t, p, err := jsonbEncode(v, depth+1)
			if err != nil {
				return 0, nil, err
			}
			members = append(members, jsonbMember{typ: t, payload: p})
		}
	}
	if out, ok := jsonbLayout(members, isObject, false); ok {
		if isObject {
			return jsonbSmallObject, out, nil
		}
		return jsonbSmallArray, out, nil
	}
	out, ok := jsonbLayout(members, isObject, true)
	if !ok {
		return 0, nil, errors.New("JSON document too large")
	}
	if isObject {
		return jsonbLargeObject, out, nil
	}
	return jsonbLargeArray, out, nil
}

// jsonbLayout lays out a container in the small or large format; ok is false
// when an offset or the size does not fit the format.
func jsonbLayout(members []jsonbMember, isObject, large bool) ([]byte, bool) {
	os := 2
	if large {
		os = 4
	}
	limit := uint64(math.MaxUint16)
	if large {
		limit = math.MaxUint32
	}
	n := len(members)
	header := 2*os + n*(1+os)
	if isObject {
		header += n * (os + 2)
	}
	size := header
	if isObject {
		for _, m := range members {
			size += len(m.key)
		}
	}
	for _, m := range members {
		if !jsonbInlined(m.typ, large) {
			size += len(m.payload)
		}
	}
	if uint64(size) > limit || uint64(n) > limit {
		return nil, false
	}
	out := make([]byte, header, size)
	putOff := func(at int, x int) {
		if large {
			binary.LittleEndian.PutUint32(out[at:], uint32(x))
		} else {
			binary.LittleEndian.PutUint16(out[at:], uint16(x))
		}
	}
	putOff(0, n)
	putOff(os, size)
	entry := 2 * os
	if isObject {
		for _, m := range members {
			putOff(entry, len(out))
			binary.LittleEndian.PutUint16(out[entry+os:], uint16(len(m.key)))
			out = append(out, m.key...)
			entry += os + 2
		}
	}
	for _, m := range members {
		out[entry] = m.typ
		if jsonbInlined(m.typ, large) {
			copy(out[entry+1:entry+1+os], m.payload)
		} else {
			putOff(entry+1, len(out))
			out = append(out, m.payload...)
		}
		entry += 1 + os
	}
	return out, true
}

// jsonbDecoder decodes binary JSON. budget bounds the number of values it
// will produce, so that corrupt documents whose offsets share subtrees cannot
// make it do exponential work.
type jsonbDecoder struct {
	budget int
}

func decodeJSONB(b []byte) (any, error) {
	if len(b) == 0 {
		// MySQL writes an empty value for a JSON column set to '' in
		// non-strict mode; like MySQL's readers, take it as JSON null.
		return nil, nil
	}
	d := jsonbDecoder{budget: len(b) + 16}
	return d.value(b[0], b[1:], 0)
}

func jsonbErr(format string, args ...any) error {
	return fmt.Errorf("%w: JSON: "+format, append([]any{ErrMalformedRow}, args...)...)
}

// value decodes a value of type t whose data starts at b[0].
func (d *jsonbDecoder) value(t byte, b []byte, depth int) (any, error) {
	d.budget--
	if d.budget < 0 {
		return nil, jsonbErr("more values than the document can hold")
	}
	if depth > jsonMaxDepth {
		return nil, jsonbErr("nested deeper than %d", jsonMaxDepth)
	}
	need := func(n int) error {
		if len(b) < n {
			return jsonbErr("value of type %#x needs %d bytes, %d left", t, n, len(b))
		}
		return nil
	}
	switch t {
	case jsonbSmallObject, jsonbLargeObject, jsonbSmallArray, jsonbLargeArray:
		return d.container(t, b, depth)
	case jsonbLiteral:
		if err := need(1); err != nil {
			return nil, err
		}
		switch b[0] {
		case jsonbNull:
			return nil, nil
		case jsonbTrue:
			return true, nil
		case jsonbFalse:
			return false, nil
		}
		return nil, jsonbErr("literal %#x", b[0])
	case jsonbInt16:
		if err := need(2); err != nil {
			return nil, err
		}
		return float64(int16(binary.LittleEndian.Uint16(b))), nil
	case jsonbUint16:
		if err := need(2); err != nil {
			return nil, err
		}
		return float64(binary.LittleEndian.Uint16(b)), nil
	case jsonbInt32:
		if err := need(4); err != nil {
			return nil, err
		}
		return float64(int32(binary.LittleEndian.Uint32(b))), nil
	case jsonbUint32:
		if err := need(4); err != nil {
			return nil, err
		}
		return float64(binary.LittleEndian.Uint32(b)), nil
	case jsonbInt64:
		if err := need(8); err != nil {
			return nil, err
		}
		x := int64(binary.LittleEndian.Uint64(b))
		if x >= -maxExactFloat && x <= maxExactFloat {
			return float64(x), nil
		}
		return x, nil
	case jsonbUint64:
		if err := need(8); err != nil {
			return nil, err
		}
		x := binary.LittleEndian.Uint64(b)
		if x <= maxExactFloat {
			return float64(x), nil
		}
		return x, nil
	case jsonbDouble:
		if err := need(8); err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, jsonbErr("double %v", f)
		}
		return f, nil
	case jsonbString:
		l, n, err := readVarLen(b)
		if err != nil {
			return nil, err
		}
		if l > uint64(len(b)-n) {
			return nil, jsonbErr("string of %d bytes, %d left", l, len(b)-n)
		}
		s := b[n : n+int(l)]
		if !utf8.Valid(s) {
			return nil, jsonbErr("string is not valid UTF-8")
		}
		return string(s), nil
	case jsonbOpaque:
		if err := need(1); err != nil {
			return nil, err
		}
		ft := b[0]
		l, n, err := readVarLen(b[1:])
		if err != nil {
			return nil, err
		}
		if l > uint64(len(b)-1-n) {
			return nil, jsonbErr("opaque value of %d bytes, %d left", l, len(b)-1-n)
		}
		return opaqueValue(ft, b[1+n:1+n+int(l)])
	}
	return nil, jsonbErr("unknown value type %#x", t)
}

func (d *jsonbDecoder) container(t byte, b []byte, depth int) (any, error) {
	large := t == jsonbLargeObject || t == jsonbLargeArray
	isObject := t == jsonbSmallObject || t == jsonbLargeObject
	os := 2
	if large {
		os = 4
	}
	if len(b) < 2*os {
		return nil, jsonbErr("container header needs %d bytes, %d left", 2*os, len(b))
	}
	off := func(at int) int {
		if large {
			return int(binary.LittleEndian.Uint32(b[at:]))
		}
		return int(binary.LittleEndian.Uint16(b[at:]))
	}
	count, size := off(0), off(os)
	if size > len(b) || size < 2*os {
		return nil, jsonbErr("container size %d, %d bytes available", size, len(b))
	}
	b = b[:size]
	entry := 1 + os
	if isObject {
		entry += os + 2
	}
	if count > (size-2*os)/entry {
		return nil, jsonbErr("%d elements do not fit %d bytes", count, size)
	}
	header := 2*os + count*entry
	var keys []string
	pos := 2 * os
	if isObject {
		keys = make([]string, count)
		for i := 0; i < count; i++ {
			ko := off(pos)
			kl := int(binary.LittleEndian.Uint16(b[pos+os:]))
			if ko < header || ko > size || kl > size-ko {
				return nil, jsonbErr("key %d at %d+%d outside %d..%d", i, ko, kl, header, size)
			}
			if !utf8.Valid(b[ko : ko+kl]) {
				return nil, jsonbErr("key %d is not valid UTF-8", i)
			}
			keys[i] = string(b[ko : ko+kl])
			pos += os + 2
		}
	}
	vals := make([]any, count)
	for i := 0; i < count; i++ {
		vt := b[pos]
		var (
			v   any
			err error
		)
		if jsonbInlined(vt, large) {
			v, err = d.value(vt, b[pos+1:pos+1+os], depth+1)
		} else {
			vo := off(pos + 1)
			if vo < header || vo >= size {
				return nil, jsonbErr("value %d at offset %d outside %d..%d", i, vo, header, size)
			}
			v, err = d.value(vt, b[vo:], depth+1)
		}
		if err != nil {
			return nil, err
		}
		vals[i] = v
		pos += 1 + os
	}
	if !isObject {
		return vals, nil
	}
	m := make(map[string]any, count)
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m, nil
}

func readVarLen(b []byte) (uint64, int, error) {
	var l uint64
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, jsonbErr("truncated length")
		}
		l |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if l > math.MaxUint32 {
				return 0, 0, jsonbErr("length %d too large", l)
			}
			return l, i + 1, nil
		}
	}
	return 0, 0, jsonbErr("length longer than 5 bytes")
}

// opaqueValue decodes a JSON opaque value of MySQL field type ft: DECIMAL as
// *apd.Decimal, DATE/DATETIME/TIMESTAMP as time.Time, TIME as its
// "[-]hh:mm:ss.ffffff" text, anything else as MySQL prints it,
// "base64:typeNN:<data>".
func opaqueValue(ft byte, data []byte) (any, error) {
	switch ft {
	case fieldTypeNewdecimal:
		if len(data) < 2 {
			return nil, jsonbErr("opaque DECIMAL of %d bytes", len(data))
		}
		dec, _, err := readDecimal(data[2:], int(data[0]), int(data[1]))
		return dec, err
	case fieldTypeDate, fieldTypeDatetime, fieldTypeTimestamp:
		if len(data) < 8 {
			return nil, jsonbErr("opaque datetime of %d bytes", len(data))
		}
		p := int64(binary.LittleEndian.Uint64(data))
		if p < 0 {
			p = -p
		}
		ymdhms, us := p>>24, int(p&(1<<24-1))
		ymd, hms := ymdhms>>17, ymdhms&(1<<17-1)
		ym := ymd >> 5
		return makeDate(int(ym/13), int(ym%13), int(ymd&31), int(hms>>12), int(hms>>6&63), int(hms&63), us)
	case fieldTypeTime:
		if len(data) < 8 {
			return nil, jsonbErr("opaque time of %d bytes", len(data))
		}
		p := int64(binary.LittleEndian.Uint64(data))
		sign := ""
		if p < 0 {
			sign, p = "-", -p
		}
		hms, us := p>>24, p&(1<<24-1)
		return fmt.Sprintf("%s%02d:%02d:%02d.%06d", sign, hms>>12, hms>>6&63, hms&63, us), nil
	}
	return fmt.Sprintf("base64:type%d:%s", ft, base64.StdEncoding.EncodeToString(data)), nil
}
