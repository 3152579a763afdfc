package sysvars

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Register adds every variable of every family to GMS's registry (sql.SystemVariables) as a
// dynamic, global-only variable whose writes land in s. Call it once per server, after the
// registry wrapper that consults s.Hidden is installed; calling it again with another State (a
// new server in the same process) redirects the variables to that State and resets their
// values to the defaults.
func Register(s *State) {
	vars := make([]sql.SystemVariable, 0, len(variables))
	for _, v := range variables {
		v := v
		vars = append(vars, &sql.MysqlSystemVariable{
			Name:    v.name,
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Dynamic: true,
			Type:    newVarType(v),
			Default: gmsValue(v.def, v.def.def),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, val sql.SystemVarValue) error {
				return s.changed(v, val.Val)
			},
		})
	}
	sql.SystemVariables.AddSystemVariables(vars)
}

// statusPrefix starts every semi-sync status variable name, in any case.
const statusPrefix = "rpl_semi_sync_"

// isSemisyncStatus reports whether name is a Rpl_semi_sync_* status variable name.
func isSemisyncStatus(name string) bool {
	return len(name) > len(statusPrefix) && strings.EqualFold(name[:len(statusPrefix)], statusPrefix)
}

// statusVar is one status variable of one family: its GMS description and how to read it.
type statusVar struct {
	v    *sql.MySQLStatusVariable
	read func(*State) any
}

// onOff is how MySQL shows a SHOW_BOOL status variable.
func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// sourceStatus lists the source plugin's status variables by suffix, as MySQL 8.0 declares them
// (semi_sync_master_status_vars); SHOW STATUS sorts them by name.
var sourceStatus = []struct {
	suffix string
	read   func(*State) any
}{
	{"status", func(s *State) any { return onOff(s.Source.Status.Status.Load()) }},
	{"clients", func(s *State) any { return max(s.Source.Status.Clients.Load(), 0) }},
	{"yes_tx", func(s *State) any { return s.Source.Status.YesTx.Load() }},
	{"no_tx", func(s *State) any { return s.Source.Status.NoTx.Load() }},
	{"wait_sessions", func(s *State) any { return max(s.Source.Status.WaitSessions.Load(), 0) }},
	{"no_times", func(s *State) any { return s.Source.Status.NoTimes.Load() }},
	{"timefunc_failures", func(s *State) any { return s.Source.Status.TimefuncFailures.Load() }},
	{"wait_pos_backtraverse", func(s *State) any { return s.Source.Status.WaitPosBacktraverse.Load() }},
	{"tx_wait_time", func(s *State) any { return s.Source.Status.TxWaitTime.Load() }},
	{"tx_waits", func(s *State) any { return s.Source.Status.TxWaits.Load() }},
	{"tx_avg_wait_time", func(s *State) any { return s.Source.Status.TxAvgWaitTime() }},
	{"net_wait_time", func(s *State) any { return s.Source.Status.NetWaitTime.Load() }},
	{"net_waits", func(s *State) any { return s.Source.Status.NetWaits.Load() }},
	{"net_avg_wait_time", func(s *State) any { return s.Source.Status.NetAvgWaitTime() }},
}

// statusVars holds each family's status variables, by family.
var statusVars = map[Family][]statusVar{}

// statusByName finds a status variable by its lower-case name.
var statusByName = map[string]struct {
	family Family
	sv     statusVar
}{}

func init() {
	for _, f := range Families {
		var list []statusVar
		if f.Role() == RoleSource {
			for _, st := range sourceStatus {
				typ := sql.Type(types.Uint64)
				if st.suffix == "status" {
					typ = types.LongText
				}
				list = append(list, statusVar{
					v:    &sql.MySQLStatusVariable{Name: f.StatusPrefix() + st.suffix, Scope: sql.StatusVariableScope_Global, Type: typ},
					read: st.read,
				})
			}
		} else {
			list = append(list, statusVar{
				v:    &sql.MySQLStatusVariable{Name: f.StatusPrefix() + "status", Scope: sql.StatusVariableScope_Global, Type: types.LongText},
				read: func(s *State) any { return onOff(s.Replica.Status.Status.Load()) },
			})
		}
		statusVars[f] = list
		for _, sv := range list {
			statusByName[strings.ToLower(sv.v.Name)] = struct {
				family Family
				sv     statusVar
			}{f, sv}
		}
	}
}

// InstallStatus replaces GMS's status variable registry (sql.StatusVariables) with one that
// hides GMS's own Rpl_semi_sync_* variables (always present, always 0) and shows instead the
// live status variables of the families installed in s. Call it after sqle.New, which
// (re)initialises the registry; calling it again switches to another State.
func InstallStatus(s *State) {
	inner := sql.StatusVariables
	if r, ok := inner.(*statusRegistry); ok {
		inner = r.inner
	}
	sql.StatusVariables = &statusRegistry{inner: inner, state: s}
}

// statusRegistry is sql.StatusVariables with the semi-sync variables of s.
type statusRegistry struct {
	inner sql.StatusVariableRegistry
	state *State
}

var _ sql.StatusVariableRegistry = (*statusRegistry)(nil)

// NewSessionMap implements sql.StatusVariableRegistry. Semi-sync status variables are global.
func (r *statusRegistry) NewSessionMap() map[string]sql.StatusVarValue {
	return r.inner.NewSessionMap()
}

// NewGlobalMap implements sql.StatusVariableRegistry: a snapshot, read when SHOW STATUS runs.
func (r *statusRegistry) NewGlobalMap() map[string]sql.StatusVarValue {
	r.state.refreshStatus()
	m := r.inner.NewGlobalMap()
	for name := range m {
		if isSemisyncStatus(name) {
			delete(m, name)
		}
	}
	for _, f := range Families {
		if !r.state.IsInstalled(f) {
			continue
		}
		for _, sv := range statusVars[f] {
			m[sv.v.Name] = &sql.ImmutableStatusVarValue{Var: sv.v, Val: sv.read(r.state)}
		}
	}
	return m
}

// GetGlobal implements sql.StatusVariableRegistry.
func (r *statusRegistry) GetGlobal(name string) (sql.StatusVariable, any, bool) {
	if !isSemisyncStatus(name) {
		return r.inner.GetGlobal(name)
	}
	e, ok := statusByName[strings.ToLower(name)]
	if !ok || !r.state.IsInstalled(e.family) {
		return nil, nil, false
	}
	r.state.refreshStatus()
	return e.sv.v, e.sv.read(r.state), true
}

// SetGlobal implements sql.StatusVariableRegistry. Semi-sync counters are set through State,
// not by name.
func (r *statusRegistry) SetGlobal(name string, val any) error {
	if isSemisyncStatus(name) {
		return nil
	}
	return r.inner.SetGlobal(name, val)
}

// IncrementGlobal implements sql.StatusVariableRegistry.
func (r *statusRegistry) IncrementGlobal(name string, val int) {
	if isSemisyncStatus(name) {
		return
	}
	r.inner.IncrementGlobal(name, val)
}
