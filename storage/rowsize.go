package storage

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer/analyzererrors"
	"github.com/dolthub/vitess/go/vt/proto/query"
)

// maxRowSize is MySQL's limit on a row's size, BLOB and TEXT contents not
// counted (HA_MAX_REC_LENGTH).
const maxRowSize = 65535

// checkRowSize refuses a schema whose rows MySQL would find too wide: the
// sum of the stored columns' sizes in MySQL's record format plus the NULL
// bitmap above 65,535 bytes. The error is GMS's ErrInvalidRowLength kind;
// the server answers it as MySQL's 1118 (ER_TOO_BIG_ROWSIZE).
func checkRowSize(sch sql.Schema) error {
	size, nullable := 0, 0
	for _, c := range sch {
		if c.Virtual {
			continue // VIRTUAL generated columns are not stored
		}
		if c.Nullable {
			nullable++
		}
		size += columnSize(c.Type)
	}
	size += (nullable + 7) / 8
	if size > maxRowSize {
		return analyzererrors.ErrInvalidRowLength.New(maxRowSize, size)
	}
	return nil
}

// columnSize is a column's size in MySQL's record (its pack length):
// VARCHAR's bytes at the character set's widest plus its 1- or 2-byte
// length, a BLOB's or TEXT's length and pointer only.
func columnSize(t sql.Type) int {
	switch t.Type() {
	case query.Type_INT8, query.Type_UINT8, query.Type_YEAR:
		return 1
	case query.Type_INT16, query.Type_UINT16:
		return 2
	case query.Type_INT24, query.Type_UINT24, query.Type_DATE:
		return 3
	case query.Type_INT32, query.Type_UINT32, query.Type_FLOAT32:
		return 4
	case query.Type_INT64, query.Type_UINT64, query.Type_FLOAT64, query.Type_DATETIME:
		return 8
	case query.Type_TIME:
		return 6
	case query.Type_TIMESTAMP:
		return 7
	case query.Type_VARCHAR, query.Type_VARBINARY:
		n := stringBytes(t)
		if n < 256 {
			return n + 1
		}
		return n + 2
	case query.Type_CHAR, query.Type_BINARY:
		return stringBytes(t)
	case query.Type_TEXT, query.Type_BLOB:
		switch n := stringBytes(t); {
		case n <= 255:
			return 1 + 8
		case n <= 65535:
			return 2 + 8
		case n <= 1<<24-1:
			return 3 + 8
		}
		return 4 + 8
	case query.Type_JSON, query.Type_GEOMETRY:
		return 4 + 8
	case query.Type_DECIMAL:
		if d, ok := t.(sql.DecimalType); ok {
			return decimalSize(int(d.Precision()), int(d.Scale()))
		}
	case query.Type_BIT:
		if b, ok := t.(interface{ NumberOfBits() uint8 }); ok {
			return (int(b.NumberOfBits()) + 7) / 8
		}
	case query.Type_ENUM:
		if e, ok := t.(interface{ NumberOfElements() uint16 }); ok && e.NumberOfElements() > 255 {
			return 2
		}
		return 1
	case query.Type_SET:
		if s, ok := t.(interface{ NumberOfElements() uint16 }); ok {
			if n := (int(s.NumberOfElements()) + 7) / 8; n <= 4 {
				return n
			}
		}
		return 8
	}
	return 8
}

func stringBytes(t sql.Type) int {
	if st, ok := t.(sql.StringType); ok {
		return int(st.MaxByteLength())
	}
	return 0
}

// decimalSize is MySQL's binary DECIMAL size: 4 bytes per 9 digits on each
// side of the point, fewer for the remaining digits.
func decimalSize(precision, scale int) int {
	digBytes := [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}
	intg := precision - scale
	return intg/9*4 + digBytes[intg%9] + scale/9*4 + digBytes[scale%9]
}
