// Package replica is the replica side of semisyncd: CHANGE REPLICATION
// SOURCE's configuration, the IO thread (source → relay log, semi-sync
// ACKs), the relay log, the SQL thread (relay log → data) and what SHOW
// REPLICA STATUS reports.
//
//	r, _ := replica.New(replica.Config{DataDir: dir, ServerID: 2, Applier: …, Executed: w.Executed})
//	r.Change(replica.ChangeOptions{Host: &host, Port: &port, User: &user})
//	r.Start(replica.AllThreads)      // START REPLICA
//	st, ok := r.Status()             // SHOW REPLICA STATUS
//	r.Stop(replica.IOThread)         // STOP REPLICA IO_THREAD
//
// Guarantees:
//
//   - ACK after the relay log: on a semi-sync connection the IO thread
//     acknowledges a flagged event only after RelayWriter.Flush returned for
//     it (written to the file; fsynced with sync_relay_log = 1).
//   - Exactly once: every source transaction is committed with its GTID
//     (the storage session's next GTID), so this server's @@gtid_executed
//     — rebuilt from its binlog by recovery — is the applied position,
//     atomic with the data. The relay-log position is saved after the
//     commit; after a crash the SQL thread re-reads from there and skips
//     the transactions whose GTID is executed. The binlog writer refuses a
//     GTID twice besides.
//   - Pipelined commits: the SQL thread applies the next transactions while
//     the group fsync of earlier ones runs (commitqueue.go), but the
//     applier position and @@gtid_executed move past a transaction only
//     once it and every one before it are durable and visible; a DDL
//     transaction waits for all before it.
//   - The relay log only ever publishes whole transactions; a partial one
//     (crash, cut link, stopped thread) is dropped and asked for again.
//
// Protocol facts (docs/semisync.md §4, §6; MySQL 8.0.26+ behaviour):
//
//   - Semi-sync probe: SELECT @@global.rpl_semi_sync_source_enabled, on
//     1193 SELECT @@global.rpl_semi_sync_master_enabled; 1193 on both means
//     no semi-sync (warning, async). The value is ignored: only existence
//     matters. Then SET @rpl_semi_sync_replica = 1, @rpl_semi_sync_slave = 1.
//   - Event packets: 0x00, then on a semi-sync dump 0xEF and a flag byte
//     (0x01: ACK wanted), then the event. A packet without the magic on a
//     semi-sync connection is fatal (1593).
//   - ACK: a client packet with sequence id 0: 0xEF, u64 LE end position of
//     the flagged event, the source's binlog file name from the last
//     ROTATE (no NUL). The source answers nothing and its next packet has
//     sequence id 1.
//   - COM_REGISTER_SLAVE (0x15): server_id u32, report host/user/password
//     (length-prefixed, empty), port u16, rank u32, source id u32.
//   - COM_BINLOG_DUMP (0x12): pos u32, flags u16, server_id u32, file name.
//     COM_BINLOG_DUMP_GTID (0x1e): flags u16 (0x04: through GTID),
//     server_id u32, name length u32, name, pos u64, data length u32, the
//     GTID set's SID block.
//   - @source_binlog_checksum / @master_binlog_checksum are set to the
//     source's @@global.binlog_checksum, so events arrive as the source
//     stores them; the source's FORMAT_DESCRIPTION_EVENT says whether the
//     events that follow carry a CRC32. The relay log stores every event
//     with one.
//   - Heartbeats (type 27) keep an idle connection inside
//     replica_net_timeout; they are not stored. The source's
//     FORMAT_DESCRIPTION and PREVIOUS_GTIDS events are not stored either:
//     each relay file has its own.
//   - MariaDB sources (10.3+; tested with 10.11): the replica announces no
//     MariaDB capability, so MariaDB replaces its own event types (GTID,
//     Annotate_rows, …) with comment-only QUERY events ("# Dummy event …"),
//     which are skipped, and sends version 1 rows events (types 23–25),
//     read as v2 without the extra-data block. MariaDB GTIDs are not
//     MySQL's: such transactions get this server's own GTIDs, so after a
//     crash the applier's resume point is its saved relay-log position
//     alone (a transaction applied just before the crash may be applied
//     again, failing with 1062/1032).
//   - Error numbers as MySQL 8.0 reports them: 2003 (connect/reconnect,
//     retried every SOURCE_CONNECT_RETRY s, SOURCE_RETRY_COUNT times),
//     13114 (the source's ERR during the dump, e.g. 1236), 13117 (equal
//     server ids or UUIDs), 1595 (relay log write failure, ER_REPLICA_RELAY_LOG_WRITE_FAILURE), 1743 (event
//     checksum), 1062/1032/1146 and the DDL's own for the SQL thread.
package replica
