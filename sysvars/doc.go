// Package sysvars is MySQL 8.0's semi-sync variables as SQL sees them: the rpl_semi_sync_*
// system variables and the Rpl_semi_sync_* status variables of both naming families, with
// MySQL's types, defaults, ranges, errors and visibility, and the live values the semi-sync
// runtime reads and updates.
//
// # Families
//
// MySQL 8.0 ships the same two plugins under two names (docs/semisync.md §1.1, §3.5): the
// source plugin as rpl_semi_sync_source (variables rpl_semi_sync_source_*) or, deprecated,
// rpl_semi_sync_master (rpl_semi_sync_master_*), and the replica plugin as
// rpl_semi_sync_replica or rpl_semi_sync_slave. A Family is one of these four. At most one
// family per role is installed at a time, and both families of a role read and write the same
// state: State.Source and State.Replica.
//
// # Visibility
//
// A family's variables and status rows exist only while it is installed: before INSTALL PLUGIN,
// SELECT @@global.rpl_semi_sync_source_enabled fails with 1193 and SHOW VARIABLES LIKE
// 'rpl_semi%' is empty, as replicas probing a source rely on. GMS cannot remove a variable, so
// Register adds every variable of every family once and State.Hidden tells the variable
// registry (sqlserver's wrapper around sql.SystemVariables) which ones to treat as unknown.
// InstallStatus does the same for status variables, replacing GMS's always-visible
// Rpl_semi_sync_* rows with the live counters of the installed families.
//
// # Values
//
// GMS's registry holds each variable's value for SQL (SET, SELECT @@x, SHOW VARIABLES). Every
// write goes through the variable's NotifyChanged, which mirrors the value into the atomics of
// SourceConfig and ReplicaConfig, so the runtime reads configuration without locks, and tells
// subscribers (State.Subscribe) what changed. Status variables are read from atomics
// (SourceStatus, ReplicaStatus): a runtime either updates them directly or keeps its own
// counters and copies them in the hook State.SetStatusRefresh installs, which every SHOW STATUS
// calls first (MySQL's setExportStats). FLUSH STATUS and INSTALL PLUGIN reset the ones MySQL
// resets, and FLUSH STATUS tells subscribers (StatusFlushed).
//
// One process serves one State: GMS's variable registries are package globals.
package sysvars
