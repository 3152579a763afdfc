package sqlserver

import (
	"context"
	"errors"
	"io"
	"strconv"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// fastExec runs a prepared SELECT that the plan cache (plancache.go) answers without GMS's
// binding and analysis. For such a statement GMS still rebuilds the plan from the prepared
// AST at every execution (planbuilder, about a sixth of a point select's CPU) only for the
// cache to replace it by the template. fastExec maps the statement's parameters straight to
// the template's literals and hands the rebound plan to GMS's engine for execution
// (Engine.PrepQueryPlanForExecution: session check, transaction, read-only check, iterators,
// autocommit), then spools the rows itself, on the connection's goroutine.
//
// A prepared statement gets there only after proving itself: its template must be verified
// (plancache.go), and two of its executions through GMS must have shown which parameter each
// literal of the bound plan came from (the literal GMS made of the parameter: same value and
// Go type, every parameter used once). It keeps to the fast path only while the current
// database, sql_mode and sql_select_limit, the kinds of the parameters' literals (GMS types
// an integer literal by its size) and the table's columns and index are those it was learned
// with; anything else goes to GMS, which re-learns. What GMS does around a statement is done
// here too: the process list entry (SHOW PROCESSLIST, KILL QUERY), the session command
// bracket, Questions and Com_select, the SELECT privilege check on the table (at every
// execution, as GMS's binder does), the connection's autocommit and in-transaction status
// flags, and errors cast to MySQL's. Result sets with a server-side cursor go to GMS.
type fastExec struct {
	mysql.Handler // GMS's handler
	pc            *planCache
	engine        *sqle.Engine
	sessions      func() *server.SessionManager
}

var (
	_ mysql.Handler              = (*fastExec)(nil)
	_ mysql.BinlogReplicaHandler = (*fastExec)(nil)
)

// fastSeen is how many executions through GMS must agree on a statement's parameter mapping.
const fastSeen = 2

// fastBatch is the most rows sent to the client in one callback.
const fastBatch = 128

// preparedPlan is what fastExec learned of one prepared statement text in one session.
type preparedPlan struct {
	boundKey string    // the plan cache's shape key of the statement's bound plan
	slots    []litSlot // per literal of the bound plan: where it comes from
	kinds    []string  // per parameter: the Go type of the literal GMS made of it
	db       string    // the current database
	vars     string    // sql_mode and sql_select_limit (shapeBuilder.vars)
	auth     ast.AuthInformation
	columns  sql.Schema // the table's columns
	fields   []*querypb.Field
	seen     int
	failures int
	retired  bool
}

// litSlot is how one literal of the bound plan is made from a parameter: GMS's binder gives a
// parameter compared with a column of a congruent, wider type that column's type
// (typeExpandComparisonLiteral); otherwise it keeps the parameter's own literal.
type litSlot struct {
	param int
	typ   sql.Type // the bound literal's type when converted; nil: the parameter's literal
	kind  string   // the Go type of the bound literal's value
}

// execParams carries one execution's parameters from fastExec to the plan cache's analysis.
type execParams struct {
	query string
	vals  []*ast.SQLVal
}

// ComStmtExecute implements mysql.Handler.
func (f *fastExec) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	sp := f.pc.sessionByID(c.ConnectionID)
	if prepare == nil || sp == nil || f.pc.disabled.Load() || c.StatusFlags&uint16(mysql.ServerCursorExists) != 0 {
		return f.Handler.ComStmtExecute(ctx, c, prepare, callback)
	}
	vals, ok := paramValues(prepare)
	if !ok {
		return f.Handler.ComStmtExecute(ctx, c, prepare, callback)
	}
	if done, err := f.run(ctx, c, sp, prepare.PrepareStmt, vals, callback); done {
		return err
	}
	sp.exec = &execParams{query: prepare.PrepareStmt, vals: vals}
	defer func() { sp.exec = nil }()
	first := true
	return f.Handler.ComStmtExecute(ctx, c, prepare, func(r *sqltypes.Result) error {
		if first {
			first = false
			if pp := sp.prepared[prepare.PrepareStmt]; pp != nil && len(r.Fields) > 0 {
				pp.fields = copyFields(r.Fields)
			}
		}
		return callback(r)
	})
}

// ComRegisterReplica implements mysql.BinlogReplicaHandler.
func (f *fastExec) ComRegisterReplica(c *mysql.Conn, replicaHost string, replicaPort uint16, replicaUser string, replicaPassword string) error {
	if rh, ok := f.Handler.(mysql.BinlogReplicaHandler); ok {
		return rh.ComRegisterReplica(c, replicaHost, replicaPort, replicaUser, replicaPassword)
	}
	return nil
}

// ComBinlogDumpGTID implements mysql.BinlogReplicaHandler.
func (f *fastExec) ComBinlogDumpGTID(c *mysql.Conn, logFile string, logPos uint64, gtidSet mysql.GTIDSet) error {
	if rh, ok := f.Handler.(mysql.BinlogReplicaHandler); ok {
		return rh.ComBinlogDumpGTID(c, logFile, logPos, gtidSet)
	}
	return nil
}

// paramNames are the bind variable names vitess gives the first parameters.
var paramNames = func() []string {
	out := make([]string, 32)
	for i := range out {
		out[i] = "v" + strconv.Itoa(i+1)
	}
	return out
}()

// paramValues returns the statement's parameters as GMS's handler turns them into AST values,
// or false when one is not an integer (or there are more than paramNames).
func paramValues(prepare *mysql.PrepareData) ([]*ast.SQLVal, bool) {
	n := int(prepare.ParamsCount)
	if n == 0 || n > len(paramNames) || len(prepare.BindVars) != n {
		return nil, false
	}
	out := make([]*ast.SQLVal, n)
	for i := 0; i < n; i++ {
		bv := prepare.BindVars[paramNames[i]]
		if bv == nil {
			return nil, false
		}
		v, err := sqltypes.BindVariableToValue(bv)
		if err != nil || !v.IsIntegral() {
			return nil, false
		}
		e, err := ast.ExprFromValue(v)
		if err != nil {
			return nil, false
		}
		sv, ok := e.(*ast.SQLVal)
		if !ok || sv.Type != ast.IntVal {
			return nil, false
		}
		out[i] = sv
	}
	return out, true
}

// literals converts parameter values to the literals GMS's binder makes of them.
func (sp *sessionPlans) literals(vals []*ast.SQLVal) ([]*expression.Literal, bool) {
	if sp.builder == nil {
		return nil, false
	}
	out := make([]*expression.Literal, len(vals))
	for i, v := range vals {
		l, ok := sp.builder.ConvertVal(v).(*expression.Literal)
		if !ok {
			return nil, false
		}
		out[i] = l
	}
	return out, true
}

// goKind names the Go type of a literal's value (what GMS's integer literals differ by).
func goKind(v interface{}) string {
	switch v.(type) {
	case int8:
		return "i8"
	case uint8:
		return "u8"
	case int16:
		return "i16"
	case uint16:
		return "u16"
	case int32:
		return "i32"
	case uint32:
		return "u32"
	case int64:
		return "i64"
	case uint64:
		return "u64"
	}
	return ""
}

// learnPrepared is called by the plan cache when a verified template answered the analysis
// of an execution fastExec passed to GMS: it records (or confirms) how each of the bound
// plan's literals is made from the parameters.
func (pc *planCache) learnPrepared(ctx *sql.Context, sp *sessionPlans, key string, t *planTemplate, lits []*expression.Literal) {
	p := sp.exec
	sp.exec = nil
	if p == nil || p.query != ctx.Query() {
		return
	}
	if sp.builder == nil {
		sp.builder = planbuilder.New(ctx, nil, nil)
	}
	pp := sp.prepared[p.query]
	if pp != nil && pp.retired {
		return
	}
	if pp == nil && len(sp.prepared) >= maxTemplates {
		return
	}
	params, ok := sp.literals(p.vals)
	var slots []litSlot
	if ok {
		slots = paramSlots(ctx, params, lits)
	}
	auth, authOK := tableAuth(ctx, p.query)
	if slots == nil || !authOK {
		if pp == nil {
			pp = &preparedPlan{}
			sp.prepared[p.query] = pp
		}
		pp.seen = 0
		if pp.failures++; pp.failures >= maxFailures {
			pp.retired = true
		}
		return
	}
	kinds := make([]string, len(params))
	for j, l := range params {
		kinds[j] = goKind(l.Value())
	}
	db := ctx.GetCurrentDatabase()
	var sb shapeBuilder
	sb.vars(ctx)
	vars := sb.b.String()
	cols := t.ita.TableNode.UnderlyingTable().Schema(ctx)
	if pp == nil || pp.seen == 0 || pp.boundKey != key || !sameSlots(pp.slots, slots) || !equalStrings(pp.kinds, kinds) ||
		pp.db != db || pp.vars != vars || !sameColumnSet(pp.columns, cols) {
		failures := 0
		if pp != nil {
			failures = pp.failures
		}
		sp.prepared[p.query] = &preparedPlan{boundKey: key, slots: slots, kinds: kinds, db: db, vars: vars,
			auth: auth, columns: append(sql.Schema(nil), cols...), seen: 1, failures: failures}
		return
	}
	pp.seen++
}

// paramSlots returns, for each bound literal, how it is made from the one parameter of the
// same value; nil when a literal has no such parameter, or a parameter is used twice or not
// at all.
func paramSlots(ctx *sql.Context, params, lits []*expression.Literal) []litSlot {
	if len(params) != len(lits) || len(params) == 0 {
		return nil
	}
	used := make([]bool, len(params))
	out := make([]litSlot, len(lits))
	for i, l := range lits {
		k := goKind(l.Value())
		if k == "" {
			return nil
		}
		out[i] = litSlot{param: -1, kind: k}
		for j, p := range params {
			var typ sql.Type
			v := p.Value()
			if pt, lt := p.Type(ctx), l.Type(ctx); pt.String() != lt.String() {
				cv, inRange, err := lt.Convert(ctx, v)
				if err != nil || inRange != sql.InRange {
					continue
				}
				typ, v = lt, cv
			}
			if goKind(v) == k && v == l.Value() {
				if out[i].param >= 0 {
					return nil // two parameters of one value: ambiguous
				}
				out[i].param, out[i].typ = j, typ
			}
		}
		if out[i].param < 0 || used[out[i].param] {
			return nil
		}
		used[out[i].param] = true
	}
	return out
}

func sameSlots(a, b []litSlot) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].param != b[i].param || a[i].kind != b[i].kind || (a[i].typ == nil) != (b[i].typ == nil) ||
			a[i].typ != nil && a[i].typ.String() != b[i].typ.String() {
			return false
		}
	}
	return true
}

// tableAuth returns the authorization information of the one table a prepared SELECT reads.
func tableAuth(ctx *sql.Context, query string) (ast.AuthInformation, bool) {
	stmt, ok := ctx.Session.GetPreparedQuery(query)
	if !ok {
		return ast.AuthInformation{}, false
	}
	sel, ok := stmt.(*ast.Select)
	if !ok || len(sel.From) != 1 || sel.With != nil || sel.Into != nil || (sel.Lock != nil && (sel.Lock.Type != "" || len(sel.Lock.Tables) > 0)) || sel.QueryOpts.SQLCalcFoundRows {
		return ast.AuthInformation{}, false
	}
	te, ok := sel.From[0].(*ast.AliasedTableExpr)
	if !ok || te.Auth.AuthType != ast.AuthType_SELECT {
		return ast.AuthInformation{}, false
	}
	if _, ok := te.Expr.(ast.TableName); !ok {
		return ast.AuthInformation{}, false
	}
	return te.Auth, true
}

// run executes the statement on the fast path; false: it was not taken (nothing was done).
func (f *fastExec) run(ctx context.Context, c *mysql.Conn, sp *sessionPlans, query string, vals []*ast.SQLVal, callback func(*sqltypes.Result) error) (bool, error) {
	pp := sp.prepared[query]
	if pp == nil || pp.retired || pp.seen < fastSeen || pp.fields == nil {
		return false, nil
	}
	params, ok := sp.literals(vals)
	if !ok || len(params) != len(pp.kinds) {
		return false, nil
	}
	for i, p := range params {
		if goKind(p.Value()) != pp.kinds[i] {
			return false, nil
		}
	}
	t := sp.shapes[pp.boundKey]
	if t == nil || t.state != tmplVerified {
		return false, nil
	}
	sqlCtx, err := f.sessions().NewContextWithQuery(ctx, c, query)
	if err != nil {
		return false, nil
	}
	if sqlCtx.GetCurrentDatabase() != pp.db {
		return false, nil
	}
	if !varsAre(sqlCtx, pp.vars) {
		return false, nil
	}
	if !t.indexStillThere(sqlCtx) || !sameColumnSet(pp.columns, t.ita.TableNode.UnderlyingTable().Schema(sqlCtx)) {
		return false, nil
	}
	lits := make([]*expression.Literal, len(pp.slots))
	for i, sl := range pp.slots {
		l := params[sl.param]
		if sl.typ != nil {
			v, inRange, err := sl.typ.Convert(sqlCtx, l.Value())
			if err != nil || inRange != sql.InRange {
				return false, nil
			}
			l = expression.NewLiteral(v, sl.typ)
		}
		if goKind(l.Value()) != sl.kind {
			return false, nil
		}
		lits[i] = l
	}
	node, ok := t.rebindInPlace(sqlCtx, lits)
	if !ok {
		return false, nil
	}
	f.pc.hits.Add(1)
	f.pc.fastHits.Add(1)
	if err := f.exec(sqlCtx, c, query, pp, t, node, callback); err != nil {
		return true, sql.CastSQLError(err)
	}
	return true, nil
}

// exec runs an analyzed plan as GMS's handler runs a statement, and sends its rows.
func (f *fastExec) exec(sqlCtx *sql.Context, c *mysql.Conn, query string, pp *preparedPlan, t *planTemplate, node sql.Node, callback func(*sqltypes.Result) error) (err error) {
	sqlCtx, err = sqlCtx.ProcessList.BeginQuery(sqlCtx, query)
	if err != nil {
		return err
	}
	defer sqlCtx.ProcessList.EndQuery(sqlCtx)
	if err := sql.SessionCommandBegin(sqlCtx.Session); err != nil {
		return err
	}
	defer sql.SessionCommandEnd(sqlCtx.Session)
	sql.IncrementStatusVariable(sqlCtx, "Questions", 1)
	if err := f.engine.Analyzer.Catalog.AuthorizationHandler().HandleAuth(sqlCtx, nil, pp.auth); err != nil {
		return err
	}
	sql.IncrementStatusVariable(sqlCtx, "Com_select", 1)
	qFlags := &sql.QueryFlags{}
	if t.max1Row {
		qFlags.Set(sql.QFlagMax1Row)
	}
	sch, iter, _, err := f.engine.PrepQueryPlanForExecution(sqlCtx, query, node, qFlags)
	if err != nil {
		return err
	}
	buf := sql.ByteBufPool.Get().(*sql.ByteBuffer)
	defer func() {
		buf.Reset()
		sql.ByteBufPool.Put(buf)
	}()
	fields := copyFields(pp.fields)
	res := &sqltypes.Result{Fields: fields}
	sent := false
	for n := 0; ; n++ {
		row, err := iter.Next(sqlCtx)
		if err == io.EOF {
			break
		}
		if err == nil && t.max1Row && n > 0 {
			err = errors.New("result max1Row iterator returned more than one row")
		}
		if err == nil && n%fastBatch == 0 {
			err = sqlCtx.Err()
		}
		if err != nil {
			_ = iter.Close(sqlCtx)
			return err
		}
		out, err := server.RowToSQL(sqlCtx, sch, row, nil, buf)
		if err != nil {
			_ = iter.Close(sqlCtx)
			return err
		}
		res.Rows = append(res.Rows, out)
		res.RowsAffected++
		if len(res.Rows) == fastBatch {
			if err := callback(res); err != nil {
				_ = iter.Close(sqlCtx)
				return err
			}
			sent = true
			buf.Reset()
			res = &sqltypes.Result{Fields: fields}
		}
	}
	if err := iter.Close(sqlCtx); err != nil {
		return err
	}
	if err := connStatusFlags(sqlCtx, c); err != nil {
		return err
	}
	if sent && len(res.Rows) == 0 {
		return nil
	}
	return callback(res)
}

// connStatusFlags sets the connection's autocommit and in-transaction status flags from the
// session, as GMS's handler does after each statement.
func connStatusFlags(ctx *sql.Context, c *mysql.Conn) error {
	v, err := ctx.GetSessionVariable(ctx, sql.AutoCommitSessionVar)
	if err != nil {
		return err
	}
	on, err := sql.ConvertToBool(ctx, v)
	if err != nil {
		return err
	}
	if on {
		c.StatusFlags |= uint16(mysql.ServerStatusAutocommit)
	} else {
		c.StatusFlags &^= uint16(mysql.ServerStatusAutocommit)
	}
	if ctx.GetTransaction() != nil {
		c.StatusFlags |= uint16(mysql.ServerInTransaction)
	} else {
		c.StatusFlags &^= uint16(mysql.ServerInTransaction)
	}
	return nil
}

// copyFields returns copies of column definitions (the result fixer changes them in place).
func copyFields(fs []*querypb.Field) []*querypb.Field {
	out := make([]*querypb.Field, len(fs))
	for i, f := range fs {
		out[i] = &querypb.Field{
			Name: f.Name, Type: f.Type, Table: f.Table, OrgTable: f.OrgTable, Database: f.Database,
			OrgName: f.OrgName, ColumnLength: f.ColumnLength, Charset: f.Charset, Decimals: f.Decimals,
			Flags: f.Flags,
		}
	}
	return out
}

// sameColumnSet reports whether two schemas are the same column definitions (storage makes
// new column objects for any change).
func sameColumnSet(a, b sql.Schema) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
