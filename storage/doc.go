// Package storage is semisyncd's transactional in-memory engine behind
// go-mysql-server's sql.* interfaces.
//
// # Versions
//
// Committed state is an immutable catalog (databases → tables → copy-on-write
// B-trees). Two catalogs matter: latest, the newest committed version that
// writers build on, and published, the version readers take snapshots of. A
// commit moves latest forward under the commit lock and later publishes it;
// the gap between the two is where the binlog fsync and the semi-sync
// AFTER_SYNC wait happen (see Engine.commit). A transaction that reached latest
// always commits, so writers may build on versions readers cannot see yet.
//
// # Transactions
//
// A transaction reads one snapshot (taken at its first table access, as
// InnoDB's consistent read is) with its own writes layered on top. Locks
// (lockManager) are held to commit or rollback. DML and locking reads take
// an intention lock on the table (IS, IX) and record locks on the
// primary-key values (on a table without a primary key, the hidden row
// ids; see keyless.go), and the changed unique-key values, of the rows they
// lock or write, and DML reads the tables it does not write with S record
// locks under REPEATABLE READ (Session.lockingRead); their per-table slot is the newest
// committed version plus the transaction's own rows (touched), rebased
// onto latest at each statement's start, and each locked row is read in
// its newest committed version — no lost updates — while plain SELECTs
// keep their snapshot. At commit exactly the touched rows are applied to
// latest's version (others may have committed other rows since). There
// are no gap locks: a locking range read can see phantoms inserted later.
// TRUNCATE, DELETE without WHERE and DDL take the table's X lock, and
// such a slot is installed whole. Waits are bounded by
// innodb_lock_wait_timeout (error 1205); a wait that would close a cycle
// fails at once with 1213 and rolls the transaction back, as InnoDB does.
//
// # Change capture
//
// Every insert, update and delete records its before/after row image and
// every DDL operation records its statement text. At commit the resulting
// ChangeSet goes to the CommitHook (the binlog) under the commit lock, in
// commit order. The same row operations are offered to replay and the
// replica applier through Session.ApplyRowChange.
package storage
