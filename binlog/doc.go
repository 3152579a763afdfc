// Package binlog writes, reads and streams semisyncd's binary log: MySQL 8.0
// v4 binlog files (binlog.NNNNNN + binlog.index) with row-based events,
// GTIDs and CRC32 checksums.
//
// Protocol facts collected while writing this package (byte layouts are
// MySQL's; all integers little-endian):
//
//   - A file starts with the magic 0xFE 'b' 'i' 'n', then a
//     FORMAT_DESCRIPTION_EVENT (122 bytes with checksum, so the first
//     transaction starts at 126 as in MySQL 8.0) and a
//     PREVIOUS_GTIDS_LOG_EVENT.
//   - Event header (19 bytes): timestamp u32, type u8, server_id u32,
//     event_size u32 (header+body+checksum), log_pos u32 (end offset of the
//     event in its file), flags u16.
//   - The FORMAT_DESCRIPTION_EVENT's post-header-length table is copied
//     from a real MySQL 8.0 server (41 event types). Decoders rely on it:
//     a TABLE_MAP post-header of 8 means 6-byte table ids; GTID's is 25
//     (flags, SID, GNO) with the logical clock and timestamps in the body.
//   - LOG_EVENT_BINLOG_IN_USE_F (0x1) is set in the FDE header while a file
//     is open for writing and cleared when it is closed cleanly; a file
//     found with it set was not closed: recovery checks its tail.
//   - Each transaction is GTID, QUERY "BEGIN", then per statement
//     TABLE_MAP(s) and WRITE/UPDATE/DELETE_ROWS v2 (STMT_END_F on the last),
//     then XID. DDL is GTID + QUERY(statement, default db).
//   - The CRC32 (IEEE) covers the whole event but its last 4 bytes; with
//     binlog_checksum=NONE there are no checksum bytes and the FDE's
//     checksum-algorithm byte is 0.
//   - A dump starts with an artificial ROTATE (timestamp 0, log_pos 0,
//     LOG_EVENT_ARTIFICIAL_F) naming the file, then the file's FDE (with
//     log_pos 0 when resuming mid-file). Events read from files go out as
//     written; events the dump makes up (the artificial ROTATE, heartbeats)
//     carry a CRC only when the replica announced
//     @master_binlog_checksum='CRC32' (go-mysql and mysqlbinlog announce
//     NONE and would read the CRC as part of the file name).
package binlog
