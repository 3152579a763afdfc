package sysvars

import (
	"math"
	"strings"
)

// Role is the side of replication a plugin serves.
type Role int

const (
	// RoleSource is the source (primary) side: plugins rpl_semi_sync_source and rpl_semi_sync_master.
	RoleSource Role = iota
	// RoleReplica is the replica side: plugins rpl_semi_sync_replica and rpl_semi_sync_slave.
	RoleReplica
)

// String returns "source" or "replica".
func (r Role) String() string {
	if r == RoleReplica {
		return "replica"
	}
	return "source"
}

// Family is one naming family of semi-sync variables, which is also one plugin: its variables
// are rpl_semi_sync_<family>_* and its status variables Rpl_semi_sync_<family>_*.
type Family int

const (
	// FamilySource is rpl_semi_sync_source_* (plugin rpl_semi_sync_source, MySQL 8.0.26+).
	FamilySource Family = iota
	// FamilyMaster is rpl_semi_sync_master_* (plugin rpl_semi_sync_master, deprecated in 8.0.26).
	FamilyMaster
	// FamilyReplica is rpl_semi_sync_replica_* (plugin rpl_semi_sync_replica, MySQL 8.0.26+).
	FamilyReplica
	// FamilySlave is rpl_semi_sync_slave_* (plugin rpl_semi_sync_slave, deprecated in 8.0.26).
	FamilySlave
)

// Families lists every family.
var Families = []Family{FamilySource, FamilyMaster, FamilyReplica, FamilySlave}

var familyWords = [...]string{"source", "master", "replica", "slave"}

// Role returns the side the family's plugin serves.
func (f Family) Role() Role {
	if f == FamilyReplica || f == FamilySlave {
		return RoleReplica
	}
	return RoleSource
}

// Deprecated reports whether f is one of the old master/slave names.
func (f Family) Deprecated() bool { return f == FamilyMaster || f == FamilySlave }

// Other returns the family with the other naming of the same role (source ↔ master,
// replica ↔ slave): the one that cannot be installed together with f.
func (f Family) Other() Family {
	switch f {
	case FamilySource:
		return FamilyMaster
	case FamilyMaster:
		return FamilySource
	case FamilyReplica:
		return FamilySlave
	}
	return FamilyReplica
}

// PluginName returns the name of the family's plugin, e.g. "rpl_semi_sync_source".
func (f Family) PluginName() string { return "rpl_semi_sync_" + familyWords[f] }

// String returns the plugin name.
func (f Family) String() string { return f.PluginName() }

// StatusPrefix returns the prefix of the family's status variables, e.g. "Rpl_semi_sync_source_".
func (f Family) StatusPrefix() string { return "Rpl_semi_sync_" + familyWords[f] + "_" }

// VariableName returns the name of v in family f, e.g. "rpl_semi_sync_master_wait_no_slave" for
// SourceWaitNoReplica in FamilyMaster, or "" when v belongs to the other role.
func (f Family) VariableName(v Var) string {
	d := definitions[v]
	if d.role != f.Role() {
		return ""
	}
	if f.Deprecated() {
		return f.PluginName() + "_" + d.oldSuffix
	}
	return f.PluginName() + "_" + d.newSuffix
}

// Var identifies one semi-sync system variable independently of its family's naming.
type Var int

// The variables of the source plugin, then those of the replica plugin (docs/semisync.md §1.3, §1.4).
const (
	SourceEnabled             Var = iota // …_enabled: BOOL, OFF
	SourceTimeout                        // …_timeout: ULONG milliseconds, 10000
	SourceTraceLevel                     // …_trace_level: ULONG bitmask, 32
	SourceWaitNoReplica                  // …_wait_no_replica / …_wait_no_slave: BOOL, ON
	SourceWaitPoint                      // …_wait_point: ENUM AFTER_SYNC|AFTER_COMMIT, AFTER_SYNC
	SourceWaitForReplicaCount            // …_wait_for_replica_count / …_wait_for_slave_count: UINT 1..65535, 1
	ReplicaEnabled                       // …_enabled: BOOL, OFF
	ReplicaTraceLevel                    // …_trace_level: ULONG bitmask, 32
	numVars
)

// The values of SourceConfig.WaitPoint, in MySQL's enum order.
const (
	WaitAfterSync   int32 = 0 // AFTER_SYNC: wait after the binlog sync, before the engine commit
	WaitAfterCommit int32 = 1 // AFTER_COMMIT: wait after the engine commit
)

// kind is how a variable's values are written and checked.
type kind int

const (
	kindBool kind = iota // MYSQL_SYSVAR_BOOL: ON/OFF, 1/0
	kindUint             // MYSQL_SYSVAR_ULONG/UINT: unsigned, clamped to [min, max]
	kindEnum             // MYSQL_SYSVAR_ENUM: one of values, by name or index
)

// definition is one variable as the plugins declare it. For booleans def is 0 or 1, for
// enums the index of the default value.
type definition struct {
	v                    Var
	role                 Role
	newSuffix, oldSuffix string
	kind                 kind
	def, min, max        uint64
	values               []string
	usage                string
}

// definitions holds every variable, indexed by Var. The values are MySQL 8.0's
// (plugin/semisync/semisync_source_plugin.cc and semisync_replica_plugin.cc).
var definitions = [numVars]definition{
	SourceEnabled: {
		v: SourceEnabled, role: RoleSource, newSuffix: "enabled", oldSuffix: "enabled", kind: kindBool, def: 0,
		usage: "enable semi-synchronous replication on the source",
	},
	SourceTimeout: {
		v: SourceTimeout, role: RoleSource, newSuffix: "timeout", oldSuffix: "timeout", kind: kindUint,
		def: 10000, min: 0, max: math.MaxUint64,
		usage: "milliseconds a commit waits for replica ACKs before the source falls back to asynchronous replication",
	},
	SourceTraceLevel: {
		v: SourceTraceLevel, role: RoleSource, newSuffix: "trace_level", oldSuffix: "trace_level", kind: kindUint,
		def: 32, min: 0, max: math.MaxUint64,
		usage: "semi-sync trace bitmask of the source plugin (1 general, 16 detail, 32 net wait, 64 function)",
	},
	SourceWaitNoReplica: {
		v: SourceWaitNoReplica, role: RoleSource, newSuffix: "wait_no_replica", oldSuffix: "wait_no_slave", kind: kindBool, def: 1,
		usage: "keep waiting up to the timeout when fewer semi-sync replicas than wait_for_replica_count are connected",
	},
	SourceWaitPoint: {
		v: SourceWaitPoint, role: RoleSource, newSuffix: "wait_point", oldSuffix: "wait_point", kind: kindEnum,
		def: uint64(WaitAfterSync), values: []string{"AFTER_SYNC", "AFTER_COMMIT"},
		usage: "where commits wait for ACKs: AFTER_SYNC or AFTER_COMMIT",
	},
	SourceWaitForReplicaCount: {
		v: SourceWaitForReplicaCount, role: RoleSource, newSuffix: "wait_for_replica_count", oldSuffix: "wait_for_slave_count", kind: kindUint,
		def: 1, min: 1, max: 65535,
		usage: "number of replica ACKs a commit waits for",
	},
	ReplicaEnabled: {
		v: ReplicaEnabled, role: RoleReplica, newSuffix: "enabled", oldSuffix: "enabled", kind: kindBool, def: 0,
		usage: "enable semi-synchronous replication on the replica",
	},
	ReplicaTraceLevel: {
		v: ReplicaTraceLevel, role: RoleReplica, newSuffix: "trace_level", oldSuffix: "trace_level", kind: kindUint,
		def: 32, min: 0, max: math.MaxUint64,
		usage: "semi-sync trace bitmask of the replica plugin",
	},
}

// variable is one variable of one family.
type variable struct {
	name   string // lower case, e.g. "rpl_semi_sync_source_timeout"
	family Family
	def    *definition
}

// variables lists every variable of every family, by family then in definition order.
var variables []variable

// byName finds a variable by its lower-case name.
var byName = map[string]variable{}

func init() {
	for _, f := range Families {
		for i := range definitions {
			d := &definitions[i]
			if d.role != f.Role() {
				continue
			}
			v := variable{name: f.VariableName(d.v), family: f, def: d}
			variables = append(variables, v)
			byName[v.name] = v
		}
	}
}

// commonPrefix starts every semi-sync variable name, in any case.
const commonPrefix = "rpl_semi_sync_"

// lookup returns the semi-sync variable called name (any case).
func lookup(name string) (variable, bool) {
	if len(name) <= len(commonPrefix) || !strings.EqualFold(name[:len(commonPrefix)], commonPrefix) {
		return variable{}, false
	}
	v, ok := byName[strings.ToLower(name)]
	return v, ok
}
