package integration

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"
)

// eventRows is the number of rows the tick event inserted into ev.t.
func eventRows(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM ev.t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// showEvent returns the Status column of SHOW EVENTS FROM ev for the named
// event ("" when it is not listed).
func showEvent(t testing.TB, db *sql.DB, name string) string {
	t.Helper()
	for _, r := range queryStrings(t, db, "SHOW EVENTS FROM ev") {
		// Db, Name, Definer, Time zone, Type, Execute at, Interval value,
		// Interval field, Starts, Ends, Status, …
		if r[1].String == name {
			return r[10].String
		}
	}
	return ""
}

// TestEventsRunAndReplicate: an EVERY 1 SECOND event created over the wire
// inserts rows on the primary (event_scheduler ON by default); SHOW EVENTS,
// SHOW CREATE EVENT and information_schema.EVENTS describe it; its rows
// reach the semi-sync replica as row events (yes_tx rises), where the event
// itself is SLAVESIDE_DISABLED and does not run (the tables stay equal once
// the primary disables it); the event survives a kill -9 of the primary
// (binlog replay) and runs again after it, and a clean restart of the
// replica keeps it disabled there.
func TestEventsRunAndReplicate(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)
	yesBefore := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx")

	mustExec(t, pdb, "CREATE DATABASE ev")
	mustExec(t, pdb, "CREATE TABLE ev.t (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6))")
	mustExec(t, pdb, "CREATE EVENT ev.tick ON SCHEDULE EVERY 1 SECOND COMMENT 'ticks' DO INSERT INTO ev.t (at) VALUES (NOW(6))")
	waitFor(t, replicationTimeout, "the event to insert 3 rows", func() bool { return eventRows(t, pdb) >= 3 })

	if st := showEvent(t, pdb, "tick"); st != "ENABLED" {
		t.Fatalf("primary SHOW EVENTS status %q, want ENABLED", st)
	}
	var name, create string
	var rest [3]sql.NullString
	if err := pdb.QueryRow("SHOW CREATE EVENT ev.tick").Scan(&name, &rest[0], &rest[1], &create, &rest[2], new(sql.NullString), new(sql.NullString)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EVENT `tick`", "EVERY 1 SECOND", "COMMENT 'ticks'", "INSERT INTO ev.t"} {
		if !strings.Contains(create, want) {
			t.Errorf("SHOW CREATE EVENT: %q lacks %q", create, want)
		}
	}
	is := queryStrings(t, pdb, "SELECT EVENT_NAME, STATUS, INTERVAL_VALUE, INTERVAL_FIELD, EVENT_COMMENT FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'ev'")
	if len(is) != 1 || is[0][0].String != "tick" || is[0][1].String != "ENABLED" || is[0][2].String != "1" || is[0][3].String != "SECOND" || is[0][4].String != "ticks" {
		t.Fatalf("information_schema.EVENTS: %v", is)
	}

	// The replica: the rows arrive, the event is disabled there.
	waitFor(t, replicationTimeout, "the event's rows on the replica", func() bool { return eventRows(t, rdb) >= 3 })
	if st := showEvent(t, rdb, "tick"); st != "SLAVESIDE_DISABLED" {
		t.Fatalf("replica SHOW EVENTS status %q, want SLAVESIDE_DISABLED", st)
	}
	// The DDL is 3 transactions; the event's inserts add at least 3 more.
	if yes := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"); atoi(t, yes) < atoi(t, yesBefore)+6 {
		t.Fatalf("Rpl_semi_sync_source_yes_tx %s, was %s", yes, yesBefore)
	}
	if st := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); st != "ON" {
		t.Fatalf("Rpl_semi_sync_source_status %s", st)
	}
	mustExec(t, pdb, "ALTER EVENT ev.tick DISABLE")
	waitCaughtUp(t, pdb, rdb, replica)
	if p, r := dumpTables(t, pdb, "ev"), dumpTables(t, rdb, "ev"); p != r {
		t.Fatalf("tables differ after the event was disabled:\nprimary %s\nreplica %s", p, r)
	}
	if st := showEvent(t, pdb, "tick"); st != "DISABLED" {
		t.Fatalf("primary status after ALTER EVENT … DISABLE: %q", st)
	}
	if st := showEvent(t, rdb, "tick"); st != "SLAVESIDE_DISABLED" {
		t.Fatalf("replica status after ALTER EVENT … DISABLE: %q", st)
	}

	// A second event, enabled, then kill -9: the restart replays it (or
	// loads it from a checkpoint) enabled, and it runs.
	mustExec(t, pdb, "CREATE EVENT ev.tock ON SCHEDULE EVERY 1 SECOND DO INSERT INTO ev.t (at) VALUES (NOW(6))")
	primary.Kill(t)
	primary = primary.Restart(t)
	pdb = primary.DB(t, "")
	if st := showEvent(t, pdb, "tick"); st != "DISABLED" {
		t.Fatalf("after the restart, tick is %q", st)
	}
	if st := showEvent(t, pdb, "tock"); st != "ENABLED" {
		t.Fatalf("after the restart, tock is %q", st)
	}
	after := eventRows(t, pdb)
	waitFor(t, replicationTimeout, "tock to run after the restart", func() bool { return eventRows(t, pdb) >= after+2 })
	mustExec(t, pdb, "DROP EVENT ev.tock")
	if st := showEvent(t, pdb, "tock"); st != "" {
		t.Fatalf("after DROP EVENT, tock is %q", st)
	}

	replica = replica.Restart(t)
	rdb = replica.DB(t, "")
	if st := showEvent(t, rdb, "tick"); st != "SLAVESIDE_DISABLED" {
		t.Fatalf("after the replica's restart, tick is %q there", st)
	}
}

// TestEventSchedulerVariable: @@event_scheduler follows --event-scheduler
// and SET GLOBAL; DISABLED cannot be set at run time (1231) and, given at
// start, prevents turning the scheduler on (1290).
func TestEventSchedulerVariable(t *testing.T) {
	s := StartServer(t)
	db := s.DB(t, "")
	disabled := StartServer(t, WithArgs("--event-scheduler", "DISABLED"))
	ddb := disabled.DB(t, "")
	for _, c := range []struct {
		name string
		db   *sql.DB
		set  string
		code uint16
		want string
	}{
		{"default", db, "", 0, "ON"},
		{"off", db, "OFF", 0, "OFF"},
		{"on again", db, "ON", 0, "ON"},
		{"disabled at run time", db, "DISABLED", 1231, "ON"},
		{"disabled at start", ddb, "", 0, "DISABLED"},
		{"on when disabled", ddb, "ON", 1290, "DISABLED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.set != "" {
				_, err := c.db.Exec("SET GLOBAL event_scheduler = " + c.set)
				if got := mysqlErrorNumber(err); got != c.code {
					t.Fatalf("SET GLOBAL event_scheduler = %s: error %d (%v), want %d", c.set, got, err, c.code)
				}
			}
			var v string
			if err := c.db.QueryRow("SELECT @@GLOBAL.event_scheduler").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != c.want {
				t.Fatalf("@@event_scheduler %q, want %q", v, c.want)
			}
		})
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
