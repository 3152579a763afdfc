package integration

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// TestBinlogStatements: FLUSH BINARY LOGS, SHOW BINARY LOGS / MASTER
// STATUS / BINLOG EVENTS, PURGE, RESET MASTER, the GTID variables, and
// binlog_checksum / sync_binlog changes.
func TestBinlogStatements(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	db.SetMaxOpenConns(1)
	var uuid string
	if err := db.QueryRow("SELECT @@server_uuid").Scan(&uuid); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE DATABASE s")
	mustExec(t, db, "CREATE TABLE s.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO s.t VALUES (1)")
	mustExec(t, db, "FLUSH BINARY LOGS")
	if logs := queryStrings(t, db, "SHOW BINARY LOGS"); len(logs) != 2 || logs[1][0].String != "binlog.000002" {
		t.Fatalf("SHOW BINARY LOGS after FLUSH: %v", logs)
	}
	events := queryStrings(t, db, "SHOW BINLOG EVENTS IN 'binlog.000001'")
	var types []string
	for _, e := range events {
		types = append(types, e[2].String)
	}
	if strings.Join(types, ",") != "Format_desc,Previous_gtids,Gtid,Query,Gtid,Query,Gtid,Query,Table_map,Write_rows,Xid,Rotate" {
		t.Fatalf("event types: %v", types)
	}
	if events[2][5].String != "SET @@SESSION.GTID_NEXT= '"+uuid+":1'" || events[3][5].String != "CREATE DATABASE s" || events[11][5].String != "binlog.000002;pos=4" {
		t.Fatalf("event infos: %v", events)
	}
	if limited := queryStrings(t, db, "SHOW BINLOG EVENTS IN 'binlog.000001' FROM 4 LIMIT 1, 2"); len(limited) != 2 || limited[0][2].String != "Previous_gtids" {
		t.Fatalf("LIMIT 1, 2: %v", limited)
	}
	if _, err := db.Exec("SHOW BINLOG EVENTS IN 'binlog.000009'"); mysqlErrorNumber(err) != 1220 {
		t.Fatalf("unknown file: %v", err)
	}
	status := queryStrings(t, db, "SHOW MASTER STATUS")
	if len(status) != 1 || status[0][0].String != "binlog.000002" || status[0][4].String != uuid+":1-3" {
		t.Fatalf("SHOW MASTER STATUS: %v", status)
	}
	if _, err := db.Exec("PURGE BINARY LOGS TO 'binlog.000007'"); mysqlErrorNumber(err) != 1373 {
		t.Fatalf("purge to unknown: %v", err)
	}
	mustExec(t, db, "PURGE BINARY LOGS TO 'binlog.000002'")
	var purged, executed string
	if err := db.QueryRow("SELECT @@gtid_purged, @@gtid_executed").Scan(&purged, &executed); err != nil || purged != uuid+":1-3" || executed != uuid+":1-3" {
		t.Fatalf("gtid_purged %q gtid_executed %q %v", purged, executed, err)
	}
	if _, err := db.Exec("SET GLOBAL gtid_executed = ''"); mysqlErrorNumber(err) != 1238 {
		t.Fatalf("gtid_executed is writable: %v", err)
	}

	// binlog_checksum=NONE starts a new file without checksums that
	// go-mysql's parser reads; sync_binlog=0 commits are still there after
	// a clean stop.
	mustExec(t, db, "SET GLOBAL binlog_checksum = 'NONE'")
	mustExec(t, db, "SET GLOBAL sync_binlog = 0")
	mustExec(t, db, "INSERT INTO s.t VALUES (2)")
	logs := queryStrings(t, db, "SHOW BINARY LOGS")
	last := logs[len(logs)-1][0].String
	if last != "binlog.000003" {
		t.Fatalf("binlog_checksum change did not rotate: %v", logs)
	}
	srv.Stop(t)
	p := replication.NewBinlogParser()
	rowsSeen := 0
	if err := p.ParseFile(filepath.Join(dir, last), 0, func(e *replication.BinlogEvent) error {
		if _, ok := e.Event.(*replication.RowsEvent); ok {
			rowsSeen++
		}
		if fde, ok := e.Event.(*replication.FormatDescriptionEvent); ok && fde.ChecksumAlgorithm != 0 {
			t.Errorf("checksum algorithm %d in a NONE file", fde.ChecksumAlgorithm)
		}
		return nil
	}); err != nil || rowsSeen != 1 {
		t.Fatalf("parsing the NONE file: %v, %d rows events", err, rowsSeen)
	}
	srv = srv.Restart(t)
	db = srv.DB(t, "")
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM s.t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after restart: %d %v", n, err)
	}
	mustExec(t, db, "RESET MASTER")
	if logs := queryStrings(t, db, "SHOW BINARY LOGS"); len(logs) != 1 || logs[0][0].String != "binlog.000001" {
		t.Fatalf("after RESET MASTER: %v", logs)
	}
	if err := db.QueryRow("SELECT @@gtid_executed").Scan(&executed); err != nil || executed != "" {
		t.Fatalf("gtid_executed after RESET MASTER = %q %v", executed, err)
	}
	// RESET MASTER clears the binlog, not the data: it is still there
	// after a restart.
	srv.Stop(t)
	srv = srv.Restart(t)
	if err := srv.DB(t, "").QueryRow("SELECT COUNT(*) FROM s.t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after RESET MASTER and restart: %d %v", n, err)
	}
}

// TestDumpNeedsReplicationSlave: a dump by an account without REPLICATION
// SLAVE gets 1227; with the privilege it streams.
func TestDumpNeedsReplicationSlave(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE USER 'plain'@'%' IDENTIFIED BY 'pw'")
	mustExec(t, db, "GRANT SELECT ON *.* TO 'plain'@'%'")
	mustExec(t, db, "CREATE USER 'repl'@'%' IDENTIFIED BY 'pw'")
	mustExec(t, db, "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'")
	host, port, _ := net.SplitHostPort(srv.Addr)
	pn, _ := strconv.Atoi(port)
	for _, c := range []struct {
		user string
		ok   bool
	}{{"plain", false}, {"repl", true}} {
		s := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{ServerID: nextServerID(), Flavor: "mysql", Logger: quietLog, Host: host, Port: uint16(pn), User: c.user, Password: "pw", MaxReconnectAttempts: 1})
		st, err := s.StartSync(gmysql.Position{Name: "binlog.000001", Pos: 4})
		if err != nil {
			s.Close()
			t.Fatalf("%s: %v", c.user, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = st.GetEvent(ctx)
		cancel()
		s.Close()
		if c.ok && err != nil {
			t.Fatalf("%s: %v", c.user, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "1227")) {
			t.Fatalf("%s: got %v, want error 1227", c.user, err)
		}
	}
}

// TestHeartbeats: an idle dump sends HEARTBEAT events at
// @master_heartbeat_period.
func TestHeartbeats(t *testing.T) {
	srv := StartServer(t)
	host, port, _ := net.SplitHostPort(srv.Addr)
	pn, _ := strconv.Atoi(port)
	s := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{ServerID: nextServerID(), Flavor: "mysql", Logger: quietLog, Host: host, Port: uint16(pn), User: "root", HeartbeatPeriod: 100 * time.Millisecond})
	defer s.Close()
	st, err := s.StartSync(gmysql.Position{Name: "binlog.000001", Pos: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	beats := 0
	start := time.Now()
	for beats < 3 {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			t.Fatalf("after %d heartbeats: %v", beats, err)
		}
		if ev.Header.EventType == replication.HEARTBEAT_EVENT {
			beats++
		}
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("3 heartbeats in %v: faster than the 100ms period", time.Since(start))
	}
}
