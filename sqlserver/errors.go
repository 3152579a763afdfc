package sqlserver

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// MySQL error numbers and SQLSTATEs the server produces, named as in MySQL's
// include/mysqld_error.h.
const (
	erParseError              = 1064 // ER_PARSE_ERROR
	erUnknownSystemVariable   = 1193 // ER_UNKNOWN_SYSTEM_VARIABLE
	erWrongValueForVar        = 1231 // ER_WRONG_VALUE_FOR_VAR
	erWrongTypeForVar         = 1232 // ER_WRONG_TYPE_FOR_VAR
	erGlobalVariable          = 1229 // ER_GLOBAL_VARIABLE
	erLocalVariable           = 1228 // ER_LOCAL_VARIABLE
	erIncorrectGlobalLocalVar = 1238 // ER_INCORRECT_GLOBAL_LOCAL_VAR
	erAccessDenied            = 1045 // ER_ACCESS_DENIED_ERROR
	erDBAccessDenied          = 1044 // ER_DBACCESS_DENIED_ERROR
	erSpecificAccessDenied    = 1227 // ER_SPECIFIC_ACCESS_DENIED_ERROR
	erTableAccessDenied       = 1142 // ER_TABLEACCESS_DENIED_ERROR
	erLockWaitTimeout         = 1205 // ER_LOCK_WAIT_TIMEOUT
	erDupEntry                = 1062 // ER_DUP_ENTRY
	erNonDefaultGenerated     = 3105 // ER_NON_DEFAULT_VALUE_FOR_GENERATED_COLUMN
	erUnknownCollation        = 1273 // ER_UNKNOWN_COLLATION
	erManyPlaceholders        = 1390 // ER_PS_MANY_PARAM
	erBadDB                   = 1049 // ER_BAD_DB_ERROR
	erQueryInterrupted        = 1317 // ER_QUERY_INTERRUPTED
	erCTEMaxRecursionDepth    = 3636 // ER_CTE_MAX_RECURSION_DEPTH
	erNonexistingGrant        = 1141 // ER_NONEXISTING_GRANT

	stateSyntaxOrAccess     = "42000"
	stateGeneral            = "HY000"
	stateAccessDenied       = "28000"
	stateIntegrityViolation = "23000"

	syntaxErrorText            = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line %d"
	specificAccessDeniedFormat = "Access denied; you need (at least one of) the %s privilege(s) for this operation"
	maxNearLen                 = 80 // MySQL quotes at most this much of the statement after a syntax error

	// panicRecoveredPrefix starts the error GMS makes of a panic in one of its goroutines.
	panicRecoveredPrefix = "panic recovered: "
)

// errorRule maps one kind of GMS error message to MySQL's error. A rule applies when the error's
// number is in codes, its message matches pattern and, if set, when holds for the submatches
// and forQuery for the statement that failed; text builds MySQL's message from the submatches
// and that statement.
type errorRule struct {
	name     string
	codes    []int
	pattern  *regexp.Regexp
	when     func(m []string) bool
	forQuery func(query string) bool
	code     int
	state    string
	text     func(m []string, query string) string
}

// isSet reports whether query is a SET statement.
func isSet(query string) bool { return firstWord(NormalizedPrefix(query)) == "SET" }

// globalOnlyVariable matches GMS's message for a global-only variable used with session scope.
var globalOnlyVariable = regexp.MustCompile(`^Variable '(.*)' is a GLOBAL variable and should be set with SET GLOBAL$`)

// fill returns a text function that formats f with the given submatches.
func fill(f string, groups ...int) func([]string, string) string {
	return func(m []string, _ string) string {
		args := make([]any, len(groups))
		for i, g := range groups {
			args[i] = m[g]
		}
		return fmt.Sprintf(f, args...)
	}
}

// unknownError is the catch-all number GMS sends for every error it has no code for.
var unknownError = []int{mysql.ERUnknownError}

// varValue matches GMS's "can't be set to the value of" message.
var varValue = regexp.MustCompile(`^Variable '(.*)' can't be set to the value of '(.*)'$`)

// errorRules is the whole mapping, tried in order; the first rule that applies wins.
var errorRules = []errorRule{
	{
		name: "syntax", codes: unknownError,
		pattern: regexp.MustCompile(`^syntax error at position (\d+)(?: near '(.*)')?`),
		code:    erParseError, state: stateSyntaxOrAccess,
		text: syntaxErrorMessage,
	},
	{
		// vitess's grammar nests parentheses and subqueries at most 200 deep (README, limits).
		name: "nesting", codes: unknownError,
		pattern: regexp.MustCompile(`^max nesting level reached at position (\d+)(?: near '(.*)')?`),
		code:    erParseError, state: stateSyntaxOrAccess,
		text: syntaxErrorMessage,
	},
	{
		name: "syntax, other", codes: unknownError,
		pattern: regexp.MustCompile(`^syntax error(?: near '(.*)')?`),
		code:    erParseError, state: stateSyntaxOrAccess,
		text: func(m []string, _ string) string { return fmt.Sprintf(syntaxErrorText, m[1], 1) },
	},
	{
		// storage's row-size check (GMS's ErrInvalidRowLength): MySQL's ER_TOO_BIG_ROWSIZE.
		name: "row size too large", codes: unknownError,
		pattern: regexp.MustCompile(`^invalid table spec: expected size < \d+, found \d+$`),
		code:    1118, state: stateSyntaxOrAccess,
		text: func([]string, string) string {
			return "Row size too large. The maximum row size for the used table type, not counting BLOBs, is 65535. This includes storage overhead, check the manual. You have to change some columns to TEXT or BLOBs"
		},
	},
	{
		// GMS's sql.ErrUnknownTable (DROP TEMPORARY TABLE of a name that is no temporary
		// table): MySQL's ER_BAD_TABLE_ERROR. MySQL qualifies the name with its database;
		// GMS's text carries the name as written.
		name: "unknown table", codes: unknownError,
		pattern: regexp.MustCompile(`^Unknown table '(.*)'$`),
		code:    1051, state: "42S02",
		text: fill("Unknown table '%s'", 1),
	},
	{
		// GMS's sql.ErrViewDoesNotExist (DROP VIEW of a missing view): MySQL's
		// ER_BAD_TABLE_ERROR, which names views as tables.
		name: "unknown view", codes: unknownError,
		pattern: regexp.MustCompile(`^the view (.*)\.(.*) does not exist$`),
		code:    erBadTableError, state: stateNoSuchTable,
		text: fill("Unknown table '%s.%s'", 1, 2),
	},
	{
		// GMS's sql.ErrNoDatabaseSelected: MySQL's ER_NO_DB_ERROR.
		name: "no database selected", codes: unknownError,
		pattern: regexp.MustCompile(`^no database selected$`),
		code:    1046, state: "3D000",
		text: func([]string, string) string { return "No database selected" },
	},
	{
		name: "unknown system variable", codes: unknownError,
		pattern: regexp.MustCompile(`^Unknown system variable '@{0,2}(?:(?i:global|session|local|persist|persist_only)\.)?(.*)'$`),
		code:    erUnknownSystemVariable, state: stateGeneral,
		text: fill("Unknown system variable '%s'", 1),
	},
	{
		name: "wrong type for variable", codes: unknownError,
		pattern: varValue,
		when:    func(m []string) bool { return wrongTypeForVariable(m[1], m[2]) },
		code:    erWrongTypeForVar, state: stateSyntaxOrAccess,
		text: fill("Incorrect argument type to variable '%s'", 1),
	},
	{
		name: "wrong value for variable", codes: unknownError,
		pattern: varValue,
		code:    erWrongValueForVar, state: stateSyntaxOrAccess,
		text: fill("Variable '%s' can't be set to the value of '%s'", 1, 2),
	},
	{
		name: "global-only variable", codes: unknownError,
		pattern: globalOnlyVariable, forQuery: isSet,
		code: erGlobalVariable, state: stateGeneral,
		text: fill("Variable '%s' is a GLOBAL variable and should be set with SET GLOBAL", 1),
	},
	{
		// GMS reports @@session.x of a global-only variable as if it were being set.
		name: "global-only variable read", codes: unknownError,
		pattern: globalOnlyVariable,
		code:    erIncorrectGlobalLocalVar, state: stateGeneral,
		text: fill("Variable '%s' is a GLOBAL variable", 1),
	},
	{
		name: "session-only variable", codes: unknownError,
		pattern: regexp.MustCompile(`^Variable '(.*)' is a SESSION variable and can't be used with SET GLOBAL$`),
		code:    erLocalVariable, state: stateGeneral,
		text: fill("Variable '%s' is a SESSION variable and can't be used with SET GLOBAL", 1),
	},
	{
		name: "read-only variable", codes: unknownError,
		pattern: regexp.MustCompile(`^Variable '(.*)' is a read only variable$`),
		code:    erIncorrectGlobalLocalVar, state: stateGeneral,
		text: fill("Variable '%s' is a read only variable", 1),
	},
	{
		name: "access denied", codes: unknownError,
		pattern: regexp.MustCompile(`^Access denied for user ('[^']*'(?:@'[^']*')?)(?: \(using password: (?:YES|NO)\))?$`),
		code:    erAccessDenied, state: stateAccessDenied,
		text: fill("Access denied for user %s", 1),
	},
	{
		name: "database access denied", codes: unknownError,
		pattern: regexp.MustCompile(`^Access denied for user (.*) to database '(.*)'$`),
		code:    erDBAccessDenied, state: stateSyntaxOrAccess,
		text: fill("Access denied for user %s to database '%s'", 1, 2),
	},
	{
		name: "table access denied", codes: unknownError,
		pattern: regexp.MustCompile(`^Access denied for user (.*) to table '(.*)'$`),
		code:    erTableAccessDenied, state: stateSyntaxOrAccess,
		text: fill("SELECT command denied to user %s for table '%s'", 1, 2),
	},
	{
		// GMS's refusal without the statement's details (accessDeniedHandler adds them where
		// it can): MySQL's nearest error.
		name: "command denied", codes: unknownError,
		pattern: regexp.MustCompile(`^command denied to user (.*)$`),
		code:    erSpecificAccessDenied, state: stateSyntaxOrAccess,
		text: func([]string, string) string { return fmt.Sprintf(specificAccessDeniedFormat, "required") },
	},
	{
		name: "unknown database", codes: []int{mysql.ERUnknownError, erBadDB},
		pattern: regexp.MustCompile(`^database not found: (.*)$`),
		code:    erBadDB, state: stateSyntaxOrAccess,
		text: fill("Unknown database '%s'", 1),
	},
	{
		name: "unknown collation", codes: unknownError,
		pattern: regexp.MustCompile(`^Unknown collation: '?([^']*)'?$`),
		code:    erUnknownCollation, state: stateGeneral,
		text: fill("Unknown collation: '%s'", 1),
	},
	{
		name: "value for a generated column", codes: unknownError,
		pattern: regexp.MustCompile(`^The value specified for generated column "(.*)" in table "(.*)" is not allowed\.$`),
		code:    erNonDefaultGenerated, state: stateGeneral,
		text: fill("The value specified for generated column '%s' in table '%s' is not allowed.", 1, 2),
	},
	{
		name: "lock wait timeout", codes: unknownError,
		pattern: regexp.MustCompile(`^Lock wait timeout exceeded`),
		code:    erLockWaitTimeout, state: stateGeneral,
		text: fill("Lock wait timeout exceeded; try restarting transaction"),
	},
	{
		name: "duplicate entry", codes: []int{mysql.ERUnknownError, erDupEntry},
		pattern: regexp.MustCompile(`^Duplicate entry '(.*)' for key '(.*)'$`),
		code:    erDupEntry, state: stateIntegrityViolation,
		text: fill("Duplicate entry '%s' for key '%s'", 1, 2),
	},
	{
		name: "duplicate primary key, GMS", codes: []int{mysql.ERUnknownError, erDupEntry},
		pattern: regexp.MustCompile(`^duplicate primary key given: \[(.*)\]$`),
		code:    erDupEntry, state: stateIntegrityViolation,
		text: func(m []string, query string) string {
			key := "PRIMARY"
			if t := writtenTable(query); t != "" {
				key = t + ".PRIMARY"
			}
			return fmt.Sprintf("Duplicate entry '%s' for key '%s'", keyValue(m[1]), key)
		},
	},
	{
		// GMS does not say which unique key; naming none beats naming a wrong one.
		name: "duplicate unique key, GMS", codes: []int{mysql.ERUnknownError, erDupEntry},
		pattern: regexp.MustCompile(`^duplicate unique key given: \[(.*)\]$`),
		code:    erDupEntry, state: stateIntegrityViolation,
		text: func(m []string, query string) string {
			msg := fmt.Sprintf("Duplicate entry '%s' for a unique key", keyValue(m[1]))
			if t := writtenTable(query); t != "" {
				msg += fmt.Sprintf(" of table '%s'", t)
			}
			return msg
		},
	},
	{
		// GMS stops every recursive CTE after 10,001 iterations (it ignores
		// cte_max_recursion_depth); MySQL's error for the limit, with GMS's count.
		name: "CTE recursion", codes: unknownError,
		pattern: regexp.MustCompile(`^WITH RECURSIVE iteration limit exceeded$`),
		code:    erCTEMaxRecursionDepth, state: stateGeneral,
		text: fill("Recursive query aborted after 10001 iterations. Try increasing @@cte_max_recursion_depth to a larger value."),
	},
	{
		// KILL QUERY (or KILL) cancelled the statement's context.
		name: "interrupted", codes: unknownError,
		pattern: regexp.MustCompile(`^context canceled$`),
		code:    erQueryInterrupted, state: "70100",
		text: fill("Query execution was interrupted"),
	},
	{
		name: "account operation failed", codes: unknownError,
		pattern: regexp.MustCompile(`^Operation ((?:CREATE|ALTER|DROP|RENAME) (?:USER|ROLE)) failed for (.*)$`),
		code:    erCannotUser, state: stateGeneral,
		text: fill("Operation %s failed for %s", 1, 2),
	},
	{
		name: "no such grant", codes: unknownError,
		pattern: regexp.MustCompile(`^There is no such grant defined for user '(.*)' on host '(.*)'$`),
		code:    erNonexistingGrant, state: stateSyntaxOrAccess,
		text: fill("There is no such grant defined for user '%s' on host '%s'", 1, 2),
	},
	{
		name: "panic", codes: unknownError,
		pattern: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(panicRecoveredPrefix) + `([^\n]*)`),
		code:    mysql.ERUnknownError, state: stateGeneral,
		text: fill("internal error: %s", 1),
	},
}

// mapError returns err as the *mysql.SQLError a MySQL server would send for it. query is the
// statement that failed (for a multi-statement query, the text starting at it), or empty. An
// error GMS already gave a specific number passes through unchanged unless a rule lists that
// number (to correct its SQLSTATE and text); an error no rule knows keeps 1105.
func mapError(err error, query string) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	if !errors.As(err, &se) {
		se = sql.CastSQLError(err)
	}
	for _, r := range errorRules {
		if !containsInt(r.codes, se.Num) {
			continue
		}
		m := r.pattern.FindStringSubmatch(se.Message)
		if m == nil || (r.when != nil && !r.when(m)) || (r.forQuery != nil && !r.forQuery(query)) {
			continue
		}
		return mysql.NewSQLError(r.code, r.state, "%s", r.text(m, query))
	}
	return se
}

// syntaxErrorMessage builds MySQL's ER_PARSE_ERROR text from vitess's "syntax error at position
// N near 'tok'": the statement from the offending token on, cut at maxNearLen, and its line.
func syntaxErrorMessage(m []string, query string) string {
	pos, _ := strconv.Atoi(m[1])
	token := m[2]
	near, line := token, 1
	if start, ok := tokenStart(query, pos, token); ok {
		near = query[start:]
		line = 1 + strings.Count(query[:start], "\n")
	}
	near = strings.TrimRight(near, "; \t\r\n")
	if len(near) > maxNearLen {
		near = near[:maxNearLen]
	}
	return fmt.Sprintf(syntaxErrorText, near, line)
}

// tokenStart finds where the token vitess reported starts in query. Vitess's position is just
// past the token (it may have read a little further), so the token is the last occurrence of its
// text that ends at or before pos. An empty token means the statement ended early.
func tokenStart(query string, pos int, token string) (int, bool) {
	if token == "" {
		return len(query), query != ""
	}
	lq, lt := strings.ToLower(query), strings.ToLower(token)
	limit := min(max(pos, len(token)), len(query))
	if i := strings.LastIndex(lq[:limit], lt); i >= 0 {
		return i, true
	}
	if i := strings.Index(lq, lt); i >= 0 {
		return i, true
	}
	return 0, false
}

// wrongTypeForVariable reports whether MySQL would refuse value for the variable with
// ER_WRONG_TYPE_FOR_VAR (the value's kind is wrong) rather than ER_WRONG_VALUE_FOR_VAR: a
// non-integer for an integer variable, a non-number for a floating-point one, a fractional
// number for a boolean, enum, set or string one.
func wrongTypeForVariable(name, value string) bool {
	v, _, ok := sql.SystemVariables.GetGlobal(name)
	if !ok {
		return false
	}
	_, intErr := strconv.ParseInt(value, 10, 64)
	_, uintErr := strconv.ParseUint(value, 10, 64)
	isInt := intErr == nil || uintErr == nil
	_, floatErr := strconv.ParseFloat(value, 64)
	isNumber := floatErr == nil
	switch t := v.GetType().Type(); {
	case t == sqltypes.Int8: // booleans
		return isNumber && !isInt
	case sqltypes.IsIntegral(t):
		return !isInt
	case sqltypes.IsFloat(t):
		return !isNumber
	default: // enums, sets, strings
		return isNumber && !isInt
	}
}

// keyValue turns GMS's key tuple "1,a" into MySQL's "1-a".
func keyValue(tuple string) string {
	return strings.ReplaceAll(tuple, ",", "-")
}

// writtenTableRE finds the table an INSERT, REPLACE or UPDATE writes: [db.]table.
var writtenTableRE = regexp.MustCompile("(?is)^\\s*(?:INSERT|REPLACE|UPDATE)(?:\\s+(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE))*(?:\\s+INTO)?\\s+" +
	ident + "(?:\\s*\\.\\s*" + ident + ")?")

const ident = "(`[^`]+`|[\\w$]+)"

// writtenTable returns the name (without database) of the table the statement writes, or "".
func writtenTable(query string) string {
	m := writtenTableRE.FindStringSubmatch(query)
	if m == nil {
		return ""
	}
	name := m[1]
	if m[2] != "" {
		name = m[2]
	}
	return strings.Trim(name, "`")
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
