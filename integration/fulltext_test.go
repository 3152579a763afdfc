package integration

import (
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ftWorkload creates ft.docs with a FULLTEXT key, ft.notes with one added
// by ALTER TABLE, and changes their rows with INSERT, UPDATE and DELETE.
var ftWorkload = []string{
	"CREATE DATABASE ft",
	"CREATE TABLE ft.docs (id INT PRIMARY KEY, title VARCHAR(100), body TEXT, FULLTEXT KEY ft_body (title, body))",
	"INSERT INTO ft.docs VALUES (1, 'apple pie', 'sweet baked apples'), (2, 'pear tart', 'ripe pears and cream'), (3, 'plum jam', 'plums boiled with sugar')",
	"CREATE TABLE ft.notes (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200))",
	"INSERT INTO ft.notes (note) VALUES ('call the baker'), ('buy apples')",
	"ALTER TABLE ft.notes ADD FULLTEXT KEY ft_note (note)",
	"UPDATE ft.docs SET body = 'apples with cinnamon' WHERE id = 2",
	"DELETE FROM ft.docs WHERE id = 3",
	"INSERT INTO ft.notes (note) VALUES ('apples again')",
}

// ftSearches are MATCH … AGAINST queries and the ids they find after
// ftWorkload.
var ftSearches = []struct{ query, want string }{
	{"SELECT id FROM ft.docs WHERE MATCH (title, body) AGAINST ('apples') ORDER BY id", "1,2"},
	{"SELECT id FROM ft.docs WHERE MATCH (title, body) AGAINST ('plums') ORDER BY id", ""},
	{"SELECT id FROM ft.docs WHERE MATCH (title, body) AGAINST ('cream') ORDER BY id", ""},
	{"SELECT id FROM ft.docs WHERE MATCH (title, body) AGAINST ('tart') ORDER BY id", "2"},
	{"SELECT id FROM ft.notes WHERE MATCH (note) AGAINST ('apples') ORDER BY id", "2,3"},
	{"SELECT id FROM ft.notes WHERE MATCH (note) AGAINST ('baker') ORDER BY id", "1"},
}

// ftIDs runs a search and joins the ids it returns.
func ftIDs(t testing.TB, q func(string) ([]string, error), query string) string {
	t.Helper()
	ids, err := q(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return strings.Join(ids, ",")
}

// dbIDs queries through database/sql.
func dbIDs(db *sql.DB) func(string) ([]string, error) {
	return func(q string) ([]string, error) {
		rows, err := db.Query(q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
}

// checkFulltext runs ftSearches on a server and checks that only ft's
// two tables are listed.
func checkFulltext(t *testing.T, who string, q func(string) ([]string, error)) {
	t.Helper()
	for _, s := range ftSearches {
		if got := ftIDs(t, q, s.query); got != s.want {
			t.Errorf("%s: %s: ids %q, want %q", who, s.query, got, s.want)
		}
	}
	for _, l := range []string{"SHOW TABLES FROM ft", "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'ft' ORDER BY TABLE_NAME"} {
		if got := ftIDs(t, q, l); got != "docs,notes" {
			t.Errorf("%s: %s lists %q, want docs,notes", who, l, got)
		}
	}
}

// TestFulltextReplicatesAndPersists: FULLTEXT keys (in CREATE TABLE and
// added by ALTER TABLE) answer MATCH … AGAINST after inserts, updates and
// deletes, and their pseudo-tables are not listed; the binlog carries no
// event of a pseudo-table (only the statements and the tables' own rows);
// a semisyncd replica, semi-synchronously, builds its own index from those
// rows and answers the same; a clean restart (checkpoint) and a kill -9
// (binlog replay) of the primary keep the indexes, which go on following
// new rows.
func TestFulltextReplicatesAndPersists(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)
	yesBefore := atoi(t, semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"))
	for _, q := range ftWorkload {
		mustExec(t, pdb, q)
	}
	checkFulltext(t, "primary", dbIDs(pdb))

	for _, r := range queryStrings(t, pdb, "SHOW BINLOG EVENTS") {
		for _, c := range r {
			if strings.Contains(strings.ToLower(c.String), "#ft_") {
				t.Fatalf("a binlog event names a FULLTEXT pseudo-table: %v", r)
			}
		}
	}

	waitCaughtUp(t, pdb, rdb, replica)
	checkFulltext(t, "replica", dbIDs(rdb))
	if yes := atoi(t, semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx")); yes < yesBefore+len(ftWorkload) {
		t.Fatalf("Rpl_semi_sync_source_yes_tx %d, was %d, after %d transactions", yes, yesBefore, len(ftWorkload))
	}
	if st := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); st != "ON" {
		t.Fatalf("Rpl_semi_sync_source_status %s", st)
	}

	primary.Stop(t)
	primary = primary.Restart(t)
	pdb = primary.DB(t, "")
	checkFulltext(t, "primary after a clean restart", dbIDs(pdb))

	mustExec(t, pdb, "INSERT INTO ft.docs VALUES (4, 'quince', 'quinces stewed')")
	primary.Kill(t)
	primary = primary.Restart(t)
	pdb = primary.DB(t, "")
	if got := ftIDs(t, dbIDs(pdb), "SELECT id FROM ft.docs WHERE MATCH (title, body) AGAINST ('quinces')"); got != "4" {
		t.Fatalf("after a kill -9, 'quinces' finds %q, want 4", got)
	}
	mustExec(t, pdb, "DELETE FROM ft.docs WHERE id = 4")
	checkFulltext(t, "primary after a kill -9", dbIDs(pdb))
}

// TestFulltextMariaDBReplica: a stock MariaDB replica applies the FULLTEXT
// workload without error (no pseudo-table reaches it) and its own InnoDB
// FULLTEXT indexes answer the same searches.
func TestFulltextMariaDBReplica(t *testing.T) {
	rep := startMariaDB(t, 2)
	srv := StartServer(t)
	db := srv.DB(t, "")
	host, port, _ := net.SplitHostPort(srv.Addr)
	rep.mustQuery(t, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%s, MASTER_USER='root', MASTER_PASSWORD='', "+
		"MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4; START SLAVE", host, port))
	for _, q := range ftWorkload {
		mustExec(t, db, q)
	}
	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(replicationTimeout)
	for {
		st := rep.slaveStatus(t)
		if st["Last_SQL_Error"] != "" || st["Last_IO_Error"] != "" {
			t.Fatalf("replica error: IO %q SQL %q", st["Last_IO_Error"], st["Last_SQL_Error"])
		}
		if st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == strconv.Itoa(int(pos)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica stuck at %s:%s, source at %s:%d", st["Relay_Master_Log_File"], st["Exec_Master_Log_Pos"], file, pos)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// InnoDB's FULLTEXT has a minimum token size of 3 and a stopword
	// list; none of the searched words is affected.
	checkFulltext(t, "MariaDB replica", func(q string) ([]string, error) {
		out, err := rep.query(q)
		if err != nil {
			return nil, fmt.Errorf("%v: %s", err, out)
		}
		return strings.Fields(out), nil
	})
}
