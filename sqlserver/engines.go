package sqlserver

// Storage engines. semisyncd has one engine, and every table is stored in it whatever ENGINE
// a statement names; SHOW ENGINES and information_schema.ENGINES list InnoDB only. A
// statement naming an engine MySQL 8.0 ships is substituted, with MySQL's warning for a
// substitution (1266 ER_WARN_USING_OTHER_HANDLER); a name MySQL does not know is refused with
// 1286 ER_UNKNOWN_STORAGE_ENGINE when sql_mode has NO_ENGINE_SUBSTITUTION (MySQL 8.0's
// default), else warned about (1286 and 1266) and substituted, as mysqld does
// (sql_table.cc, check_engine / ha_checktype).

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
)

const (
	erUnknownStorageEngine  = 1286 // ER_UNKNOWN_STORAGE_ENGINE, SQLSTATE 42000
	erWarnUsingOtherHandler = 1266 // ER_WARN_USING_OTHER_HANDLER
)

// engineRuleID names the CREATE TABLE engine check among the analyzer's rules.
const engineRuleID analyzer.RuleId = 10_002

// mysqlEngines are the storage engines a MySQL 8.0 server can have (its own and the plugins it
// ships), plus MariaDB's, which dumps made by MariaDB name. Upper case.
var mysqlEngines = map[string]bool{
	"INNODB": true, "MYISAM": true, "MEMORY": true, "HEAP": true, "CSV": true, "ARCHIVE": true,
	"BLACKHOLE": true, "MRG_MYISAM": true, "MERGE": true, "FEDERATED": true, "EXAMPLE": true,
	"NDB": true, "NDBCLUSTER": true, "PERFORMANCE_SCHEMA": true,
	"ARIA": true, "ROCKSDB": true, "MYROCKS": true, "TOKUDB": true, "XTRADB": true, "SEQUENCE": true,
}

// engineDisposition says what a statement naming engine does: ok (InnoDB, or none named),
// a substitution warning, or an unknown engine.
type engineDisposition int

const (
	engineOK engineDisposition = iota
	engineSubstituted
	engineUnknown
)

func classifyEngine(engine string) engineDisposition {
	e := strings.ToUpper(strings.Trim(engine, "`'\""))
	switch {
	case e == "" || e == "INNODB":
		return engineOK
	case mysqlEngines[e]:
		return engineSubstituted
	default:
		return engineUnknown
	}
}

// checkEngine applies the rules at the top of this file to a statement that names engine for
// table: it returns 1286 or adds the warnings.
func checkEngine(ctx *sql.Context, engine, table string) error {
	switch classifyEngine(engine) {
	case engineUnknown:
		name := strings.Trim(engine, "`'\"")
		if sql.LoadSqlMode(ctx).ModeEnabled(sql.NoEngineSubstitution) {
			return mysql.NewSQLError(erUnknownStorageEngine, "42000", "Unknown storage engine '%s'", name)
		}
		// GMS's SHOW WARNINGS lists the newest first: issued in this order, they show in
		// MySQL's (1286, then 1266).
		ctx.Warn(erWarnUsingOtherHandler, "Using storage engine InnoDB for table '%s'", table)
		ctx.Warn(erUnknownStorageEngine, "Unknown storage engine '%s'", name)
	case engineSubstituted:
		ctx.Warn(erWarnUsingOtherHandler, "Using storage engine InnoDB for table '%s'", table)
	}
	return nil
}

// engineRule checks the ENGINE option of CREATE TABLE (GMS keeps it in TableOpts and ignores
// it) and of ALTER TABLE (vitess parses it and drops it, so the statement's text is read).
func engineRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if ct, ok := n.(*plan.CreateTable); ok {
		if e, ok := ct.TableOpts["engine"]; ok {
			if err := checkEngine(ctx, fmt.Sprint(e), ct.Name()); err != nil {
				return nil, transform.SameTree, err
			}
		}
		return n, transform.SameTree, nil
	}
	// The rule runs for every analyzed statement: a scan without allocation
	// first, the prefix only for statements that name an engine at all.
	q := ctx.Query()
	if !containsFold(q, "engine") || !strings.HasPrefix(NormalizedPrefix(q), "ALTER TABLE ") {
		return n, transform.SameTree, nil
	}
	if engine, table := alterTableEngine(q); engine != "" {
		if err := checkEngine(ctx, engine, table); err != nil {
			return nil, transform.SameTree, err
		}
	}
	return n, transform.SameTree, nil
}

// alterTableEngine returns the engine an ALTER TABLE statement's text names (ENGINE [=] name
// outside parentheses) and the table's name, or "" when it names none.
func alterTableEngine(query string) (engine, table string) {
	toks := scanTokens(query, func(int, int, string) {})
	depth := 0
	for i, t := range toks {
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if i == 2 || (i == 4 && toks[3].text == ".") { // ALTER TABLE t, ALTER TABLE db.t
			table = unquoteIdentifier(t.text)
		}
		if depth != 0 || !strings.EqualFold(t.text, "ENGINE") || i+1 >= len(toks) {
			continue
		}
		j := i + 1
		if toks[j].text == "=" {
			j++
		}
		if j < len(toks) {
			return toks[j].text, table
		}
	}
	return "", table
}
