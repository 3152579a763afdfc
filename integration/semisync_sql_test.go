package integration

import (
	"context"
	"database/sql"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// globalStatus returns SHOW GLOBAL STATUS LIKE name's value, or "" when there is no such row.
func globalStatus(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var n, v string
	err := db.QueryRow("SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&n, &v)
	if err == sql.ErrNoRows {
		return ""
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// waitStatus polls until status variable name has value want, up to 10 s.
func waitStatus(t *testing.T, db *sql.DB, name, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := globalStatus(t, db, name); got != want; got = globalStatus(t, db, name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q after 10 s, want %q", name, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSemisyncVariablesDriveTheSource: the SQL surface drives the semi-sync source runtime and
// shows its counters. INSTALL PLUGIN and SET GLOBAL reach it (a commit without replicas waits
// rpl_semi_sync_source_timeout, then semi-sync is OFF and the commit counts as no_tx), FLUSH
// STATUS resets its counters, a semi-sync replica (go-mysql) is counted in clients and makes
// UNINSTALL fail with 1883, and its ACKs count commits as yes_tx with status ON.
func TestSemisyncVariablesDriveTheSource(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_timeout = 300")
	if got := globalStatus(t, db, "Rpl_semi_sync_source_status"); got != "OFF" {
		t.Fatalf("status before enabling: %q", got)
	}
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_enabled = ON")
	if got := globalStatus(t, db, "Rpl_semi_sync_source_status"); got != "ON" {
		t.Fatalf("status after enabling with wait_no_replica ON: %q, want ON", got)
	}

	start := time.Now()
	mustExec(t, db, "CREATE DATABASE ss")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("the first commit without a replica returned after %v, before the 300 ms timeout", d)
	}
	for name, want := range map[string]string{
		"Rpl_semi_sync_source_status": "OFF", "Rpl_semi_sync_source_no_tx": "1",
		"Rpl_semi_sync_source_no_times": "1", "Rpl_semi_sync_source_yes_tx": "0",
	} {
		if got := globalStatus(t, db, name); got != want {
			t.Errorf("after the timed-out commit %s = %q, want %q", name, got, want)
		}
	}
	mustExec(t, db, "FLUSH STATUS")
	for _, name := range []string{"Rpl_semi_sync_source_no_tx", "Rpl_semi_sync_source_no_times"} {
		if got := globalStatus(t, db, name); got != "0" {
			t.Errorf("after FLUSH STATUS %s = %q, want 0", name, got)
		}
	}

	// A semi-sync replica that ACKs everything it receives.
	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: nextServerID(), Flavor: "mysql", Host: host, Port: uint16(p), User: "root", SemiSyncEnabled: true,
	})
	defer syncer.Close()
	stream, err := syncer.StartSync(gmysql.Position{Name: file, Pos: pos})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := stream.GetEvent(context.Background()); err != nil {
				return
			}
		}
	}()
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	mustExec(t, db, "CREATE TABLE ss.t (id INT PRIMARY KEY)")
	waitStatus(t, db, "Rpl_semi_sync_source_status", "ON")
	mustExec(t, db, "INSERT INTO ss.t VALUES (1)")
	if got := globalStatus(t, db, "Rpl_semi_sync_source_yes_tx"); got == "0" || got == "" {
		t.Errorf("yes_tx = %q after an acknowledged commit", got)
	}

	_, err = db.Exec("UNINSTALL PLUGIN rpl_semi_sync_source")
	const busy = "Plugin 'rpl_semi_sync_source' cannot be uninstalled now. Stop any active semisynchronous replicas of this source first."
	if mysqlErrorNumber(err) != 1883 || !strings.HasSuffix(err.Error(), busy) {
		t.Fatalf("UNINSTALL with a semi-sync replica: %v, want 1883 %q", err, busy)
	}
	syncer.Close()
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "0")
	mustExec(t, db, "UNINSTALL PLUGIN rpl_semi_sync_source")
	if got := globalStatus(t, db, "Rpl_semi_sync_source_status"); got != "" {
		t.Fatalf("status after UNINSTALL: %q, want no row", got)
	}
	// Without the plugin, commits do not wait.
	start = time.Now()
	mustExec(t, db, "INSERT INTO ss.t VALUES (2)")
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("a commit after UNINSTALL took %v", d)
	}
}
