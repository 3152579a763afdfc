package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// procRow is one row of SHOW FULL PROCESSLIST.
type procRow struct {
	id                         uint64
	user, command, state, info string
	db                         sql.NullString
	host                       string
}

func processList(t *testing.T, db *sql.DB) []procRow {
	t.Helper()
	rows, err := db.Query("SHOW FULL PROCESSLIST")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []procRow
	for rows.Next() {
		var r procRow
		var time int64
		var state, info sql.NullString
		if err := rows.Scan(&r.id, &r.user, &r.host, &r.db, &r.command, &time, &state, &info); err != nil {
			t.Fatal(err)
		}
		r.state, r.info = state.String, info.String
		out = append(out, r)
	}
	return out
}

func findProc(rows []procRow, match func(procRow) bool) (procRow, bool) {
	for _, r := range rows {
		if match(r) {
			return r, true
		}
	}
	return procRow{}, false
}

func procDump(rows []procRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d %s %s %q %q\n", r.id, r.user, r.command, r.state, r.info)
	}
	return b.String()
}

// TestProcessListAsMySQL: a commit waiting for its ACK is in State
// "Waiting for semi-sync ACK from replica" with its statement in Info; a
// file/position dump is Command "Binlog Dump" and a GTID dump "Binlog Dump
// GTID", idle in "Source has sent all binlog to replica; waiting for more
// updates"; a replica lists its I/O and SQL threads as "system user" in
// their states.
func TestProcessListAsMySQL(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	g := startReplica(t, srv, true, false) // go-mysql StartSync: COM_BINLOG_DUMP
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	yes := statusInt(t, db, "Rpl_semi_sync_source_yes_tx")
	done := asyncExec(db, "INSERT INTO s.t VALUES (1)")
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	rows := processList(t, db)
	if _, ok := findProc(rows, func(r procRow) bool {
		return r.command == "Query" && r.state == "Waiting for semi-sync ACK from replica" && r.info == "INSERT INTO s.t VALUES (1)"
	}); !ok {
		t.Fatalf("no waiting commit in the process list:\n%s", procDump(rows))
	}
	var isState string
	if err := db.QueryRow("SELECT STATE FROM information_schema.PROCESSLIST WHERE INFO = 'INSERT INTO s.t VALUES (1)'").Scan(&isState); err != nil ||
		isState != "Waiting for semi-sync ACK from replica" {
		t.Fatalf("information_schema.PROCESSLIST: state %q, %v", isState, err)
	}
	g.openAll()
	expectDone(t, done, "the commit")
	if statusInt(t, db, "Rpl_semi_sync_source_yes_tx") != yes+1 || globalStatus(t, db, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatalf("yes_tx %s status %s", globalStatus(t, db, "Rpl_semi_sync_source_yes_tx"), globalStatus(t, db, "Rpl_semi_sync_source_status"))
	}
	waitFor(t, replicationTimeout, "the dump thread idle", func() bool {
		rows = processList(t, db)
		_, ok := findProc(rows, func(r procRow) bool {
			return r.command == "Binlog Dump" && r.state == "Source has sent all binlog to replica; waiting for more updates" && r.info == ""
		})
		return ok
	})
	// The dump thread runs (MySQL counts it in Threads_running), as does the SHOW itself.
	if n := statusInt(t, db, "Threads_running"); n < 2 {
		t.Errorf("Threads_running = %d with a dump thread running, want ≥ 2", n)
	}
	if _, ok := findProc(rows, func(r procRow) bool { return r.state == "Waiting for semi-sync ACK from replica" }); ok {
		t.Fatalf("a session still shown waiting after its ACK:\n%s", procDump(rows))
	}

	// A semisyncd replica: GTID dump on the primary, I/O and SQL threads on the replica.
	replica := StartServer(t, WithArgs("--server-id", "7"))
	rdb := replica.DB(t, "")
	rplConnect(t, rdb, srv, "SOURCE_AUTO_POSITION=1")
	waitCaughtUp(t, db, rdb, replica)
	waitFor(t, replicationTimeout, "the GTID dump and the replica threads", func() bool {
		_, dump := findProc(processList(t, db), func(r procRow) bool { return r.command == "Binlog Dump GTID" })
		rrows := processList(t, rdb)
		_, io := findProc(rrows, func(r procRow) bool {
			return r.user == "system user" && r.command == "Connect" && r.state == "Waiting for source to send event"
		})
		_, sqlt := findProc(rrows, func(r procRow) bool {
			return r.user == "system user" && r.command == "Connect" && r.state == "Replica has read all relay log; waiting for more updates"
		})
		return dump && io && sqlt
	})
}
