package sqlserver

import "regexp"

// MySQL error numbers for the storage engine's GMS-kind errors.
const (
	erTableExists              = 1050 // ER_TABLE_EXISTS_ERROR
	erDupKeyName               = 1061 // ER_DUP_KEYNAME
	erCantDropFieldOrKey       = 1091 // ER_CANT_DROP_FIELD_OR_KEY
	erCantExecuteInReadOnlyTxn = 1792 // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION

	stateTableExists  = "42S01"
	stateReadOnlyTxn  = "25006"
	cantDropKeyFormat = "Can't DROP '%s'; check that column/key exists"
)

// The storage engine returns GMS's error kinds where GMS acts on the kind
// (CREATE TABLE IF NOT EXISTS, CREATE INDEX IF NOT EXISTS, DROP INDEX IF
// EXISTS); these rules give them MySQL's numbers and texts at the wire.
func init() {
	errorRules = append(errorRules,
		errorRule{
			name: "table exists", codes: unknownError,
			pattern: regexp.MustCompile(`^table with name (.*) already exists$`),
			code:    erTableExists, state: stateTableExists,
			text: fill("Table '%s' already exists", 1),
		},
		errorRule{
			name: "duplicate key name", codes: unknownError,
			pattern: regexp.MustCompile(`^Duplicate key name '(.*)'$`),
			code:    erDupKeyName, state: stateSyntaxOrAccess,
			text: fill("Duplicate key name '%s'", 1),
		},
		errorRule{
			name: "index not found", codes: unknownError,
			pattern: regexp.MustCompile(`^index "(.*)" was not found$`),
			code:    erCantDropFieldOrKey, state: stateSyntaxOrAccess,
			text: fill(cantDropKeyFormat, 1),
		},
		errorRule{
			name: "can't drop field or key", codes: []int{erCantDropFieldOrKey},
			pattern: regexp.MustCompile(`^error: can't drop '(.*)'; check that column/key exists$`),
			code:    erCantDropFieldOrKey, state: stateSyntaxOrAccess,
			text: fill(cantDropKeyFormat, 1),
		},
		errorRule{
			name: "read only transaction", codes: []int{erCantExecuteInReadOnlyTxn},
			pattern: regexp.MustCompile(`^cannot execute statement in a READ ONLY transaction$`),
			code:    erCantExecuteInReadOnlyTxn, state: stateReadOnlyTxn,
			text: fill("Cannot execute statement in a READ ONLY transaction."),
		},
	)
}
