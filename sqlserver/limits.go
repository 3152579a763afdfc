package sqlserver

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// mysqlDefaults are system variables whose default differs between GMS and MySQL 8.0; the
// server enforces them, so their defaults are MySQL's (SET GLOBAL … = DEFAULT included).
var mysqlDefaults = map[string]interface{}{
	"max_allowed_packet": int64(DefaultMaxAllowedPacket),
}

// installMySQLDefaults re-registers the variables of mysqlDefaults with MySQL's defaults (which
// also resets their values to them). Call it before the configuration is applied.
func installMySQLDefaults() error {
	for name, def := range mysqlDefaults {
		v, _, ok := sql.SystemVariables.GetGlobal(name)
		if !ok {
			return fmt.Errorf("sqlserver: system variable %s is not defined", name)
		}
		mv, ok := v.(*sql.MysqlSystemVariable)
		if !ok {
			return fmt.Errorf("sqlserver: system variable %s is a %T", name, v)
		}
		cp := *mv
		cp.Default = def
		sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&cp})
	}
	return nil
}

// maxExprDepth bounds how deeply a statement's syntax tree may nest (an expression's operators,
// function calls and subqueries, counted node by node). GMS builds and analyzes expression trees
// in time quadratic in their depth (a 10,000-term 1+1+… or OR chain takes seconds to plan,
// 100,000 terms many minutes, and nothing in planning can be killed), so a deeper statement is
// refused at parse time, before GMS sees it. MySQL refuses deep expressions with the same error
// when its thread stack would overflow; it keeps long flat lists (IN lists, function arguments)
// flat, and so do we: they do not add depth.
const maxExprDepth = 3000

// mysqlThreadStack is MySQL 8.0's default thread_stack, the stack 1436's text names.
const mysqlThreadStack = 1 << 20

// erStackOverrunNeedMore is ER_STACK_OVERRUN_NEED_MORE.
const erStackOverrunNeedMore = 1436

// checkDepth returns stmt, or, when its tree nests deeper than maxExprDepth, a statement that
// fails with depthError's 1436.
func checkDepth(stmt ast.Statement, query string) ast.Statement {
	if err := depthError(stmt, query); err != nil {
		return Statement("SELECT", nil, NoAuth, func(*sql.Context) ([]sql.Row, error) { return nil, err })
	}
	return stmt
}

// depthError returns MySQL's 1436 "Thread stack overrun: …" (HY000) when stmt's tree nests
// deeper than maxExprDepth, else nil. query is the statement's text: no tree can nest deeper
// than its length in bytes, so short statements are not walked. A refusal also has the
// memory of the statement's tree returned to the operating system (releaseMemory). The byte counts in the text are
// an estimate: the depth times an even share of MySQL's default stack.
func depthError(stmt ast.Statement, query string) error {
	if stmt == nil || len(query) <= maxExprDepth {
		return nil
	}
	d := treeDepth(stmt, maxExprDepth)
	if d <= maxExprDepth {
		return nil
	}
	releaseMemory() // the tree vitess built for it is garbage once the statement is refused
	perLevel := mysqlThreadStack / maxExprDepth
	return mysql.NewSQLError(erStackOverrunNeedMore, stateGeneral,
		"Thread stack overrun: %d bytes used of a %d byte stack, and %d bytes needed. Use 'mysqld --thread_stack=#' to specify a bigger stack.",
		d*perLevel, mysqlThreadStack, (d-maxExprDepth)*perLevel)
}

// treeDepth returns the depth of the tree under root (root alone is 1), or the first depth past
// limit it finds. It walks without recursion, one level of children at a time.
func treeDepth(root ast.SQLNode, limit int) int {
	type at struct {
		node  ast.SQLNode
		depth int
	}
	stack := []at{{root, 1}}
	deepest := 0
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur.depth > deepest {
			deepest = cur.depth
			if deepest > limit {
				return deepest
			}
		}
		self := true
		_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
			if self { // Walk visits cur.node first: go on to its children
				self = false
				return true, nil
			}
			stack = append(stack, at{n, cur.depth + 1})
			return false, nil
		}, cur.node)
	}
	return deepest
}
