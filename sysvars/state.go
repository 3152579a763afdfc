package sysvars

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
)

// SourceConfig holds the current values of the source plugin's variables. SET GLOBAL of any
// family's name stores here (through NotifyChanged) before the statement returns; readers load
// the atomics without locks. Values are meaningful while a source family is installed.
type SourceConfig struct {
	Enabled             atomic.Bool   // rpl_semi_sync_source_enabled
	TimeoutMillis       atomic.Uint64 // rpl_semi_sync_source_timeout, milliseconds
	TraceLevel          atomic.Uint64 // rpl_semi_sync_source_trace_level
	WaitNoReplica       atomic.Bool   // rpl_semi_sync_source_wait_no_replica
	WaitPoint           atomic.Int32  // rpl_semi_sync_source_wait_point: WaitAfterSync or WaitAfterCommit
	WaitForReplicaCount atomic.Uint32 // rpl_semi_sync_source_wait_for_replica_count, 1..65535
}

// SourceStatus holds the source plugin's status variables (Rpl_semi_sync_source_* or
// Rpl_semi_sync_master_*, docs/semisync.md §2). The semi-sync runtime owns every field and updates it with
// atomic operations, or keeps its own and copies them here in the function SetStatusRefresh
// installs; SHOW STATUS reads them. sysvars itself only resets: INSTALL PLUGIN zeroes YesTx and
// NoTx, FLUSH STATUS zeroes YesTx, NoTx, NoTimes, TimefuncFailures and WaitPosBacktraverse,
// UNINSTALL PLUGIN clears Status. Times are microseconds.
type SourceStatus struct {
	Status              atomic.Bool   // …_status: ON while semi-sync is enabled and active
	Clients             atomic.Int64  // …_clients: connected semi-sync replicas
	WaitSessions        atomic.Int64  // …_wait_sessions: commits waiting now (shown as 0 if negative)
	YesTx               atomic.Uint64 // …_yes_tx: commits acknowledged in time
	NoTx                atomic.Uint64 // …_no_tx: commits not acknowledged
	NoTimes             atomic.Uint64 // …_no_times: times semi-sync switched off
	TimefuncFailures    atomic.Uint64 // …_timefunc_failures
	WaitPosBacktraverse atomic.Uint64 // …_wait_pos_backtraverse
	TxWaits             atomic.Uint64 // …_tx_waits: waits ended by an ACK
	TxWaitTime          atomic.Uint64 // …_tx_wait_time: total µs of those waits
	NetWaits            atomic.Uint64 // …_net_waits
	NetWaitTime         atomic.Uint64 // …_net_wait_time: µs; MySQL 5.7+ never adds to it
}

// TxAvgWaitTime returns Rpl_semi_sync_source_tx_avg_wait_time: TxWaitTime / TxWaits truncated
// toward zero as MySQL computes it, 0 when there was no wait.
func (s *SourceStatus) TxAvgWaitTime() uint64 { return average(s.TxWaitTime.Load(), s.TxWaits.Load()) }

// NetAvgWaitTime returns Rpl_semi_sync_source_net_avg_wait_time: NetWaitTime / NetWaits.
func (s *SourceStatus) NetAvgWaitTime() uint64 {
	return average(s.NetWaitTime.Load(), s.NetWaits.Load())
}

// average is MySQL's (unsigned long)((double)total / (double)count), or 0 for no count.
func average(total, count uint64) uint64 {
	if count == 0 {
		return 0
	}
	return uint64(float64(total) / float64(count))
}

// ReplicaConfig holds the current values of the replica plugin's variables.
type ReplicaConfig struct {
	Enabled    atomic.Bool   // rpl_semi_sync_replica_enabled: read when the I/O thread connects
	TraceLevel atomic.Uint64 // rpl_semi_sync_replica_trace_level
}

// ReplicaStatus holds the replica plugin's status variable, owned by the replica's I/O thread.
type ReplicaStatus struct {
	Status atomic.Bool // Rpl_semi_sync_replica_status: ON while the I/O thread runs semi-sync
}

// Source is the source plugin's configuration and counters, shared by both of its names.
type Source struct {
	Config SourceConfig
	Status SourceStatus
}

// Replica is the replica plugin's configuration and status, shared by both of its names.
type Replica struct {
	Config ReplicaConfig
	Status ReplicaStatus
}

// EventKind says what an Event reports.
type EventKind int

const (
	// VarChanged: a variable of an installed family was assigned (SET GLOBAL), whether or not
	// the value differs: MySQL runs a variable's update function on every assignment, and some
	// act on an unchanged value (SET wait_no_replica = ON while OFF forces status ON). The new
	// value is in the Config atomics already.
	VarChanged EventKind = iota
	// Installed: a family was installed; its variables already hold their start values.
	Installed
	// Uninstalled: a family was uninstalled; its variables and status rows are gone.
	Uninstalled
	// StatusFlushed: FLUSH STATUS ran (Family and Var are unset). A runtime that keeps its
	// counters itself resets what FlushStatus documents.
	StatusFlushed
)

// Event is one change subscribers hear about.
type Event struct {
	Kind   EventKind
	Family Family
	Var    Var // the variable that changed, for VarChanged
}

// State is the semi-sync variables and counters of one server. The zero value is not usable;
// call New.
type State struct {
	Source  Source
	Replica Replica

	// installed holds, per Role, 1 + the installed Family, or 0 when none is.
	installed [2]atomic.Int32
	// installMu serialises Install and Uninstall.
	installMu sync.Mutex

	startupMu sync.Mutex
	startup   map[string]any // start values from the command line, by variable name

	subsMu  sync.Mutex
	subs    map[int]func(Event)
	nextSub int

	refresh atomic.Pointer[func()] // SetStatusRefresh
}

// New returns a State with every variable at its default and no family installed.
func New() *State {
	s := &State{startup: map[string]any{}, subs: map[int]func(Event){}}
	for i := range definitions {
		s.store(&definitions[i], definitions[i].def)
	}
	return s
}

// Installed returns the family installed for role, if any.
func (s *State) Installed(role Role) (Family, bool) {
	n := s.installed[role].Load()
	return Family(n - 1), n != 0
}

// IsInstalled reports whether family f is installed.
func (s *State) IsInstalled(f Family) bool {
	return s.installed[f.Role()].Load() == int32(f)+1
}

// Hidden reports whether name is a semi-sync variable whose family is not installed, which the
// variable registry must treat as unknown (1193). It is cheap for every other name: one
// case-insensitive prefix comparison.
func (s *State) Hidden(name string) bool {
	v, ok := lookup(name)
	return ok && !s.IsInstalled(v.family)
}

// Install makes family f's variables and status variables exist. Its variables take their
// start values (SetStartupValues) or their defaults, as at every INSTALL PLUGIN in MySQL; for a
// source family YesTx and NoTx restart from 0. Subscribers then receive an Installed event.
// It fails when f, or the other family of its role, is installed already; the plugins package
// reports those cases with MySQL's errors before calling it.
func (s *State) Install(f Family) error {
	s.installMu.Lock()
	defer s.installMu.Unlock()
	if cur, ok := s.Installed(f.Role()); ok {
		return fmt.Errorf("sysvars: cannot install %s: %s is installed", f, cur)
	}
	vals := map[string]any{}
	for _, v := range variables {
		if v.family == f {
			vals[v.name] = s.startValue(v)
		}
	}
	// Through GMS, so that SQL and the atomics agree; no events while f is not installed.
	if err := sql.SystemVariables.AssignValues(vals); err != nil {
		return fmt.Errorf("sysvars: install %s: %w", f, err)
	}
	if f.Role() == RoleSource {
		s.Source.Status.YesTx.Store(0)
		s.Source.Status.NoTx.Store(0)
	}
	s.installed[f.Role()].Store(int32(f) + 1)
	s.notify(Event{Kind: Installed, Family: f})
	return nil
}

// Uninstall makes family f's variables and status variables disappear again. The role's
// Enabled and Status become false, as the plugin's state is gone. Subscribers then receive an
// Uninstalled event. Uninstalling a family that is not installed does nothing.
func (s *State) Uninstall(f Family) {
	s.installMu.Lock()
	defer s.installMu.Unlock()
	if !s.IsInstalled(f) {
		return
	}
	s.installed[f.Role()].Store(0)
	if f.Role() == RoleSource {
		s.Source.Config.Enabled.Store(false)
		s.Source.Status.Status.Store(false)
	} else {
		s.Replica.Config.Enabled.Store(false)
		s.Replica.Status.Status.Store(false)
	}
	s.notify(Event{Kind: Uninstalled, Family: f})
}

// FlushStatus resets what FLUSH STATUS resets in MySQL (docs/semisync.md §2.1, §2.3): the plain counters
// yes_tx, no_tx, no_times, timefunc_failures and wait_pos_backtraverse. The others are
// computed by functions in MySQL and keep their values. Subscribers then receive a
// StatusFlushed event.
func (s *State) FlushStatus() {
	st := &s.Source.Status
	st.YesTx.Store(0)
	st.NoTx.Store(0)
	st.NoTimes.Store(0)
	st.TimefuncFailures.Store(0)
	st.WaitPosBacktraverse.Store(0)
	s.notify(Event{Kind: StatusFlushed})
}

// SetStatusRefresh installs fn, which every read of the status variables (SHOW STATUS) calls
// first, as MySQL's status functions call setExportStats: a runtime that keeps its counters
// itself copies them into Source.Status and Replica.Status there. fn must be quick and must
// not block; nil removes it.
func (s *State) SetStatusRefresh(fn func()) {
	if fn == nil {
		s.refresh.Store(nil)
		return
	}
	s.refresh.Store(&fn)
}

// refreshStatus runs the function SetStatusRefresh installed, if any.
func (s *State) refreshStatus() {
	if fn := s.refresh.Load(); fn != nil {
		(*fn)()
	}
}

// Subscribe registers fn to be called on every Event, and returns a function that cancels the
// subscription. fn runs synchronously in the goroutine that made the change, before the
// statement that made it returns: for VarChanged inside SET GLOBAL, while GMS holds its variable
// registry's lock; for Installed and Uninstalled inside INSTALL/UNINSTALL PLUGIN (or start-up),
// while the plugins.Registry holds its lock. So fn must return quickly, must not read or set
// system variables through GMS (it reads the Config atomics instead) and must not call the
// plugins.Registry.
func (s *State) Subscribe(fn func(Event)) (cancel func()) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.subsMu.Lock()
		defer s.subsMu.Unlock()
		delete(s.subs, id)
	}
}

func (s *State) notify(e Event) {
	s.subsMu.Lock()
	fns := make([]func(Event), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.subsMu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// changed records a variable's new value (GMS's stored form) in the atomics and tells the
// subscribers when the family is installed. It is every variable's NotifyChanged, so it runs
// under GMS's registry lock.
func (s *State) changed(v variable, val any) error {
	raw, err := rawValue(v.def, val)
	if err != nil {
		return err
	}
	s.store(v.def, raw)
	if s.IsInstalled(v.family) {
		s.notify(Event{Kind: VarChanged, Family: v.family, Var: v.def.v})
	}
	return nil
}

// store sets the atomic of d to raw and reports whether the value changed.
func (s *State) store(d *definition, raw uint64) bool {
	sc, rc := &s.Source.Config, &s.Replica.Config
	switch d.v {
	case SourceEnabled:
		return sc.Enabled.Swap(raw != 0) != (raw != 0)
	case SourceTimeout:
		return sc.TimeoutMillis.Swap(raw) != raw
	case SourceTraceLevel:
		return sc.TraceLevel.Swap(raw) != raw
	case SourceWaitNoReplica:
		return sc.WaitNoReplica.Swap(raw != 0) != (raw != 0)
	case SourceWaitPoint:
		return sc.WaitPoint.Swap(int32(raw)) != int32(raw)
	case SourceWaitForReplicaCount:
		return sc.WaitForReplicaCount.Swap(uint32(raw)) != uint32(raw)
	case ReplicaEnabled:
		return rc.Enabled.Swap(raw != 0) != (raw != 0)
	case ReplicaTraceLevel:
		return rc.TraceLevel.Swap(raw) != raw
	}
	return false
}

// startValue returns the value variable v takes at install: its start value or its default,
// in GMS's stored form.
func (s *State) startValue(v variable) any {
	s.startupMu.Lock()
	val, ok := s.startup[v.name]
	s.startupMu.Unlock()
	if ok {
		return val
	}
	return gmsValue(v.def, v.def.def)
}
