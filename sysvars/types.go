package sysvars

// Value checking as MySQL does it for plugin variables (sql/sql_plugin_var.cc):
//
//   - sys_var_pluginvar::check_update_type refuses a value of the wrong result type with 1232
//     ER_WRONG_TYPE_FOR_VAR: integer variables take only integers (a string, a decimal, a
//     float or NULL is refused), booleans and enums take integers and strings.
//   - check_func_bool and check_func_enum refuse anything but an exact (case-insensitive)
//     name or a valid index with 1231 ER_WRONG_VALUE_FOR_VAR, quoting the value ('NULL' for NULL).
//   - check_func_long/int clamp an unsigned value to [min, max] (a negative one to 0 first) and
//     report it with warning 1292 ER_TRUNCATED_WRONG_VALUE, or with 1231 when sql_mode has
//     STRICT_ALL_TABLES (throw_bounds_warning).
//
// GMS hands a SET's value to the variable type's Convert: int8…int64 and uint64 for integer
// literals, *apd.Decimal for 1.5, float64 for 1e3, string, bool for TRUE/FALSE and nil for NULL.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// MySQL error numbers of variable assignment.
const (
	erWrongValueForVar     = 1231 // ER_WRONG_VALUE_FOR_VAR
	erWrongTypeForVar      = 1232 // ER_WRONG_TYPE_FOR_VAR
	erTruncatedWrongValue  = 1292 // ER_TRUNCATED_WRONG_VALUE
	stateSyntaxErrOrAccess = "42000"
)

// errWrongValue is MySQL's 1231 for name and the value as the client wrote it.
func errWrongValue(name, value string) error {
	return mysql.NewSQLError(erWrongValueForVar, stateSyntaxErrOrAccess,
		"Variable '%s' can't be set to the value of '%s'", cut(name, 64), cut(value, 200))
}

// errWrongType is MySQL's 1232 for name.
func errWrongType(name string) error {
	return mysql.NewSQLError(erWrongTypeForVar, stateSyntaxErrOrAccess, "Incorrect argument type to variable '%s'", cut(name, 64))
}

// cut returns s cut to n characters, as printf's %-.ns does.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// truncated reports that the value orig of variable name was clamped: warning 1292 (its text
// cuts the name at 32 characters, as MySQL's does), or error 1231 under STRICT_ALL_TABLES.
// Contexts without a session (start-up, INSTALL) get neither.
func truncated(ctx context.Context, name, orig string) error {
	c, ok := ctx.(*sql.Context)
	if !ok || c == nil || c.Session == nil {
		return nil
	}
	if sql.LoadSqlMode(c).StrictAllTables() {
		return errWrongValue(name, orig)
	}
	c.Warn(erTruncatedWrongValue, "Truncated incorrect %s value: '%s'", cut(name, 32), cut(orig, 128))
	return nil
}

// valueText is a value as MySQL quotes it in an error message.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case fmt.Stringer: // *apd.Decimal, for 1.5
		return x.String()
	}
	return fmt.Sprint(v)
}

// integer returns v as an integer when SQL would call it one: the integer Go kinds, and bool
// (TRUE/FALSE are the integers 1 and 0). neg reports a negative value, abs its magnitude.
func integer(v any) (abs uint64, neg bool, ok bool) {
	signed := func(n int64) (uint64, bool, bool) {
		if n < 0 {
			return uint64(-(n + 1)) + 1, true, true
		}
		return uint64(n), false, true
	}
	switch x := v.(type) {
	case bool:
		if x {
			return 1, false, true
		}
		return 0, false, true
	case int:
		return signed(int64(x))
	case int8:
		return signed(int64(x))
	case int16:
		return signed(int64(x))
	case int32:
		return signed(int64(x))
	case int64:
		return signed(x)
	case uint:
		return uint64(x), false, true
	case uint8:
		return uint64(x), false, true
	case uint16:
		return uint64(x), false, true
	case uint32:
		return uint64(x), false, true
	case uint64:
		return x, false, true
	}
	return 0, false, false
}

// checkValue turns a value given to SET into the variable's raw value (bool 0/1, enum index,
// unsigned number), with MySQL's errors and clamping warnings.
func checkValue(ctx context.Context, name string, d *definition, v any) (uint64, error) {
	abs, neg, isInt := integer(v)
	switch d.kind {
	case kindUint:
		if !isInt {
			return 0, errWrongType(name)
		}
		val, fixed := abs, false
		if neg {
			val, fixed = 0, true
		}
		if val < d.min {
			val, fixed = d.min, true
		}
		if val > d.max {
			val, fixed = d.max, true
		}
		if fixed {
			if err := truncated(ctx, name, valueText(v)); err != nil {
				return 0, err
			}
		}
		return val, nil
	default: // kindBool, kindEnum
		names := d.values
		if d.kind == kindBool {
			names = boolNames
		}
		switch x := v.(type) {
		case nil:
			return 0, errWrongValue(name, "NULL")
		case string:
			for i, n := range names {
				if strings.EqualFold(x, n) {
					return uint64(i), nil
				}
			}
			return 0, errWrongValue(name, x)
		}
		if !isInt {
			return 0, errWrongType(name)
		}
		if neg || abs >= uint64(len(names)) {
			return 0, errWrongValue(name, valueText(v))
		}
		return abs, nil
	}
}

// boolNames are the words a boolean plugin variable accepts, by value (MySQL's bool_typelib).
var boolNames = []string{"OFF", "ON"}

// gmsValue is a raw value in the form GMS stores and shows: int8 for booleans (SHOW VARIABLES
// prints ON/OFF for int8), the name for enums, uint64 for numbers.
func gmsValue(d *definition, raw uint64) any {
	switch d.kind {
	case kindBool:
		return int8(raw)
	case kindEnum:
		return d.values[raw]
	}
	return raw
}

// rawValue is the inverse of gmsValue.
func rawValue(d *definition, v any) (uint64, error) {
	switch x := v.(type) {
	case int8:
		if d.kind == kindBool {
			return uint64(x), nil
		}
	case string:
		for i, n := range d.values {
			if n == x {
				return uint64(i), nil
			}
		}
	case uint64:
		if d.kind == kindUint {
			return x, nil
		}
	}
	return 0, fmt.Errorf("sysvars: unexpected value %#v for a %v variable", v, d.v)
}

// varType is the GMS type of one semi-sync variable: GMS's system type of the same kind for
// display and comparison, with MySQL's checks in Convert.
type varType struct {
	sql.SystemVariableType
	name string
	def  *definition
}

var _ sql.SystemVariableType = varType{}

// newVarType returns the type of variable v.
func newVarType(v variable) varType {
	var base sql.SystemVariableType
	switch v.def.kind {
	case kindBool:
		base = types.NewSystemBoolType(v.name)
	case kindEnum:
		base = types.NewSystemEnumType(v.name, v.def.values...)
	default:
		base = types.NewSystemUintType(v.name, v.def.min, v.def.max)
	}
	return varType{SystemVariableType: base, name: v.name, def: v.def}
}

// Convert implements sql.Type with MySQL's checks; see the comment at the top of this file.
func (t varType) Convert(ctx context.Context, v any) (any, sql.ConvertInRange, error) {
	raw, err := checkValue(ctx, t.name, t.def, v)
	if err != nil {
		return nil, sql.InRange, err
	}
	return gmsValue(t.def, raw), sql.InRange, nil
}

// Type implements sql.Type. Booleans report BIGINT rather than GMS's TINYINT: GMS's planner
// turns a quoted 'true' into TRUE for TINYINT variables, which MySQL refuses for plugin
// booleans, and SELECT @@bool_variable is a BIGINT column in MySQL.
func (t varType) Type() querypb.Type {
	if t.def.kind == kindBool {
		return sqltypes.Int64
	}
	return t.SystemVariableType.Type()
}

// SQL implements sql.Type.
func (t varType) SQL(ctx *sql.Context, dest []byte, v any) (sqltypes.Value, error) {
	if t.def.kind != kindBool || v == nil {
		return t.SystemVariableType.SQL(ctx, dest, v)
	}
	raw, err := rawValue(t.def, v)
	if err != nil {
		return sqltypes.Value{}, err
	}
	return sqltypes.MakeTrusted(sqltypes.Int64, strconv.AppendUint(dest, raw, 10)), nil
}

// Equals implements sql.Type.
func (t varType) Equals(other sql.Type) bool {
	o, ok := other.(varType)
	return ok && o.name == t.name
}

// Promote implements sql.Type.
func (t varType) Promote() sql.Type { return t }
