package sqlserver

// Global-only system variables, as MySQL shows them.
//
// GMS copies every system variable into a session when the session starts and builds a bare
// @@x, and SHOW [SESSION] VARIABLES, from that copy. For a variable that exists only at global
// scope (max_connections, read_only, server_id, …) this means SET GLOBAL is invisible to every
// session that already exists (docs/gms-notes.md §6.1). MySQL shows the new value everywhere at once.
//
// Two mechanisms fix it, both through GMS extension points rather than patches:
//
//   - Every global-only variable is registered wrapped in globalOnlyVar, whose session scope
//     (used for bare @@x) reads and writes the global registry: reads see the current global
//     value, writes fail with 1229 as in MySQL. sql.SystemVariables itself is wrapped
//     (variableRegistry) so that variables added later (the sysvars and plugins packages) are
//     wrapped the same way.
//   - SHOW [SESSION] VARIABLES runs through a priority exec builder that lets GMS build its
//     rows and replaces the value of each global-only variable with the global one.
//
// The wrapper also hides variables: a plugin's variables exist only while the plugin is
// installed, and GMS cannot remove a variable. The hidden function (sysvars.State.Hidden)
// names the ones to treat as unknown: GetGlobal and SetGlobal do not find them (1193),
// GetAllGlobalVariables (SHOW GLOBAL VARIABLES) leaves them out, and the SHOW VARIABLES
// builder drops session rows the registry does not find.
//
// Cost: one map lookup under the registry's read lock per bare @@x of a global-only variable;
// SHOW VARIABLES pays one lookup per global-only row.

import (
	"errors"
	"io"
	"reflect"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
)

// globalOnlyVar is a global-only system variable whose session scope is the global value.
type globalOnlyVar struct {
	*sql.MysqlSystemVariable
}

var _ sql.SystemVariable = globalOnlyVar{}

// GetSessionScope implements sql.SystemVariable: a bare @@x reads the global value.
func (v globalOnlyVar) GetSessionScope() sql.SystemVariableScope { return globalOnlyScope{} }

// IsGlobalOnly implements sql.SystemVariable. It is true for GMS's Persist scope too, which
// MySQL's variables of that kind (server_id, log_bin, …) are.
func (v globalOnlyVar) IsGlobalOnly() bool { return true }

// InitValue implements sql.SystemVariable, keeping the wrapper in the stored value.
func (v globalOnlyVar) InitValue(ctx *sql.Context, val any, global bool) (sql.SystemVarValue, error) {
	svv, err := v.MysqlSystemVariable.InitValue(ctx, val, global)
	svv.Var = v
	return svv, err
}

// SetValue implements sql.SystemVariable, keeping the wrapper in the stored value.
func (v globalOnlyVar) SetValue(ctx *sql.Context, val any, global bool) (sql.SystemVarValue, error) {
	if !global {
		return sql.SystemVarValue{}, sql.ErrSystemVariableGlobalOnly.New(v.Name)
	}
	svv, err := v.MysqlSystemVariable.SetValue(ctx, val, global)
	svv.Var = v
	return svv, err
}

// globalOnlyScope is the session scope of a global-only variable.
type globalOnlyScope struct{}

var _ sql.SystemVariableScope = globalOnlyScope{}

// SetValue implements sql.SystemVariableScope: SET x = … (no GLOBAL) fails with MySQL's 1229.
func (globalOnlyScope) SetValue(_ *sql.Context, name string, _ any) error {
	return sql.ErrSystemVariableGlobalOnly.New(name)
}

// GetValue implements sql.SystemVariableScope: the current global value.
func (globalOnlyScope) GetValue(_ *sql.Context, name string, _ sql.CollationID) (any, error) {
	_, val, ok := sql.SystemVariables.GetGlobal(name)
	if !ok {
		return nil, sql.ErrUnknownSystemVariable.New(name)
	}
	return val, nil
}

// IsGlobalOnly implements sql.SystemVariableScope.
func (globalOnlyScope) IsGlobalOnly() bool { return true }

// IsSessionOnly implements sql.SystemVariableScope.
func (globalOnlyScope) IsSessionOnly() bool { return false }

// wrapGlobalOnly returns v wrapped when it is a global-only variable that needs it, else v.
// Variables computed by a ValueFunction are wrapped too; variableRegistry.GetGlobal computes
// them (GMS's registry only does so for its own concrete type).
func wrapGlobalOnly(v sql.SystemVariable) (sql.SystemVariable, bool) {
	m, ok := v.(*sql.MysqlSystemVariable)
	if !ok || m.Scope == nil {
		return v, false
	}
	switch m.Scope.Type {
	case sql.SystemVariableScope_Global, sql.SystemVariableScope_Persist:
		return globalOnlyVar{m}, true
	}
	return v, false
}

// variableRegistry is sql.SystemVariables as semisyncd needs it: AddSystemVariables wraps
// global-only variables, so that variables registered after start-up (sysvars, plugins) behave
// like the built-in ones; SetGlobal refuses accounts without SUPER or SYSTEM_VARIABLES_ADMIN
// with 1227, which GMS does not check; variables hidden reports are unknown.
type variableRegistry struct {
	sql.SystemVariableRegistry
	privileges *mysql_db.MySQLDb
	hidden     func(name string) bool
}

// AddSystemVariables implements sql.SystemVariableRegistry.
func (r variableRegistry) AddSystemVariables(vars []sql.SystemVariable) {
	wrapped := make([]sql.SystemVariable, len(vars))
	for i, v := range vars {
		wrapped[i], _ = wrapGlobalOnly(v)
	}
	r.SystemVariableRegistry.AddSystemVariables(wrapped)
}

// GetGlobal implements sql.SystemVariableRegistry: hidden variables are not found, and
// wrapped variables that have a ValueFunction (gtid_executed, …) are computed at every read.
func (r variableRegistry) GetGlobal(name string) (sql.SystemVariable, interface{}, bool) {
	if r.hidden(name) {
		return nil, nil, false
	}
	v, val, ok := r.SystemVariableRegistry.GetGlobal(name)
	if g, isWrapped := v.(globalOnlyVar); ok && isWrapped && g.ValueFunction != nil {
		computed, err := g.ValueFunction()
		if err != nil {
			return v, nil, true
		}
		return v, computed, true
	}
	return v, val, ok
}

// SetGlobal implements sql.SystemVariableRegistry.
func (r variableRegistry) SetGlobal(ctx *sql.Context, name string, val interface{}) error {
	if r.hidden(name) {
		return sql.ErrUnknownSystemVariable.New(name)
	}
	if v, _, ok := r.SystemVariableRegistry.GetGlobal(name); ok && sessionOnly(v) {
		// MySQL checks the scope before the privilege (1228, not 1227).
		return sql.ErrSystemVariableSessionOnly.New(v.GetName())
	}
	if !mayChangeGlobals(ctx, r.privileges) {
		return errSetGlobalDenied()
	}
	if err := r.SystemVariableRegistry.SetGlobal(ctx, name, val); err != nil {
		return err
	}
	if err := secureTransportAvailable(ctx, r.SystemVariableRegistry, strings.ToLower(name)); err != nil {
		return err
	}
	return coupleReadOnly(ctx, r.SystemVariableRegistry, strings.ToLower(name))
}

// GetAllGlobalVariables implements sql.SystemVariableRegistry: SHOW GLOBAL VARIABLES lists
// neither hidden nor session-only variables (MySQL has no global value for the latter).
func (r variableRegistry) GetAllGlobalVariables() map[string]interface{} {
	all := r.SystemVariableRegistry.GetAllGlobalVariables()
	for name := range all {
		if r.hidden(name) {
			delete(all, name)
		} else if v, _, ok := r.SystemVariableRegistry.GetGlobal(name); ok && sessionOnly(v) {
			delete(all, name)
		}
	}
	return all
}

// sessionOnly reports whether v exists at session scope only (sql_log_bin, …).
func sessionOnly(v sql.SystemVariable) bool {
	switch m := v.(type) {
	case sqlLogBinVar:
		return true
	case *sql.MysqlSystemVariable:
		return m.Scope != nil && m.Scope.Type == sql.SystemVariableScope_Session
	}
	return false
}

// installVariables installs variableRegistry as sql.SystemVariables, checking privileges against
// db and hiding the variables hidden names (nil hides none), and wraps every registered
// global-only variable, keeping current values. Calling it again (a new Server in the same
// process) only swaps the privileges and the hidden function.
func installVariables(db *mysql_db.MySQLDb, hidden func(name string) bool) {
	if hidden == nil {
		hidden = func(string) bool { return false }
	}
	inner := sql.SystemVariables
	if reg, ok := inner.(variableRegistry); ok {
		inner = reg.SystemVariableRegistry
	}
	sql.SystemVariables = variableRegistry{SystemVariableRegistry: inner, privileges: db, hidden: hidden}
	for name, raw := range inner.GetAllGlobalVariables() {
		v, _, ok := inner.GetGlobal(name)
		if !ok {
			continue
		}
		w, changed := wrapGlobalOnly(v)
		if !changed {
			continue
		}
		// AddSystemVariables resets the value to the default: put back one that differs.
		inner.AddSystemVariables([]sql.SystemVariable{w})
		if !reflect.DeepEqual(raw, w.GetDefault()) {
			_ = inner.AssignValues(map[string]interface{}{name: raw})
		}
	}
}

// installShowVariables makes SHOW [SESSION] VARIABLES show global-only variables' global values
// and leave out hidden ones. Call it after sqle.New, which completes the analyzer's exec builder.
func installShowVariables(a *analyzer.Analyzer) {
	base := *a.ExecBuilder // GMS's own builder, without a priority builder: builds the rows
	base.PriorityBuilder = nil
	a.ExecBuilder.PriorityBuilder = showVariablesBuilder{base: &base, catalog: a.Catalog}
}

// showVariablesBuilder is a priority exec builder: it handles session-scope plan.ShowVariables
// and plan.ShowColumns (showcolumns.go), builds plans with a CAST to TIME with castTime
// (casttime.go), and leaves every other node to GMS (by returning a nil iterator).
type showVariablesBuilder struct {
	base    *rowexec.BaseBuilder
	catalog *analyzer.Catalog
}

var _ sql.NodeExecBuilder = showVariablesBuilder{}

// Build implements sql.NodeExecBuilder.
func (b showVariablesBuilder) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	if sc, ok := n.(*plan.ShowColumns); ok {
		return b.showColumns(ctx, sc, r)
	}
	if rt, ok := n.(*plan.ResolvedTable); ok && strings.EqualFold(rt.Name(), "columns") && rt.Database() != nil && strings.EqualFold(rt.Database().Name(), "information_schema") {
		return b.informationSchemaColumns(ctx, rt, r)
	}
	if fixed, ok, err := withCastTime(ctx, n); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return b.base.Build(ctx, fixed, r)
	}
	sv, ok := n.(*plan.ShowVariables)
	if !ok || sv.Global {
		return nil, nil
	}
	iter, err := b.base.Build(ctx, n, r)
	if err != nil {
		return nil, err
	}
	defer iter.Close(ctx)
	var rows []sql.Row
	for {
		row, err := iter.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if row, ok := globalValueRow(row); ok {
			rows = append(rows, row)
		}
	}
	return sql.RowsToRowIter(rows...), nil
}

// globalValueRow returns a SHOW VARIABLES row (name, value) with the global value when the
// variable is global-only, or false when the registry does not know (or hides) the variable.
func globalValueRow(row sql.Row) (sql.Row, bool) {
	name, ok := row[0].(string)
	if !ok {
		return row, true
	}
	v, val, ok := sql.SystemVariables.GetGlobal(name)
	if !ok {
		return nil, false
	}
	if !v.IsGlobalOnly() {
		return row, true
	}
	// SHOW VARIABLES shows booleans as ON/OFF.
	switch val {
	case int8(0):
		val = "OFF"
	case int8(1):
		val = "ON"
	}
	return sql.NewRow(name, val), true
}
