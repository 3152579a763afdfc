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
// InnoDB's consistent read is) with its own writes layered on top. Writers
// take table locks (lockManager): shared for FOR SHARE reads, exclusive for
// writes, FOR UPDATE reads and DDL, held to commit or rollback. When a
// transaction first locks a table it re-reads that table from latest, so an
// UPDATE always applies to the newest committed row — no lost updates — while
// plain SELECTs keep their snapshot. Waits are bounded by
// innodb_lock_wait_timeout (error 1205); a wait that would close a cycle fails
// at once with 1213 and rolls the transaction back, as InnoDB does.
//
// # Change capture
//
// Every insert, update and delete records its before/after row image and
// every DDL operation records its statement text. At commit the resulting
// ChangeSet goes to the CommitHook (the binlog) under the commit lock, in
// commit order. The same row operations are offered to replay and the
// replica applier through Session.ApplyRowChange.
package storage
