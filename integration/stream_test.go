package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// change is one row change as a replica sees it.
type change struct {
	action string // insert, update, delete
	table  string
	key    string // first column of the (after) image
}

func (c change) String() string { return c.action + " " + c.table + " " + c.key }

// quietLog keeps go-mysql's info logging out of test and benchmark output.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var serverIDs = make(chan uint32, 1)

func init() { serverIDs <- 1000 }

func nextServerID() uint32 {
	id := <-serverIDs
	serverIDs <- id + 1
	return id
}

func newSyncer(t *testing.T, srv *Server) *replication.BinlogSyncer {
	t.Helper()
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	cfg := replication.BinlogSyncerConfig{
		ServerID: nextServerID(), Flavor: "mysql", Logger: quietLog, Host: host, Port: uint16(p), User: "root",
		MaxReconnectAttempts: 1, UseDecimal: false,
	}
	s := replication.NewBinlogSyncer(cfg)
	t.Cleanup(s.Close)
	return s
}

// collect reads events until want row changes arrived (or 10 s passed),
// returning the changes, row 1's values of table t, and the position after
// each XID.
func collect(t *testing.T, st *replication.BinlogStreamer, want int) ([]change, []any, []gmysql.Position) {
	t.Helper()
	var out []change
	var first []any
	var afterXID []gmysql.Position
	file := ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(out) < want {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			t.Fatalf("after %d changes %v: %v", len(out), out, err)
		}
		switch e := ev.Event.(type) {
		case *replication.RotateEvent:
			file = string(e.NextLogName)
		case *replication.XIDEvent:
			afterXID = append(afterXID, gmysql.Position{Name: file, Pos: ev.Header.LogPos})
		case *replication.RowsEvent:
			action := map[replication.EventType]string{
				replication.WRITE_ROWS_EVENTv2: "insert", replication.UPDATE_ROWS_EVENTv2: "update", replication.DELETE_ROWS_EVENTv2: "delete",
			}[ev.Header.EventType]
			step := 1
			if action == "update" {
				step = 2
			}
			for i := 0; i < len(e.Rows); i += step {
				img := e.Rows[i+step-1]
				c := change{action: action, table: string(e.Table.Schema) + "." + string(e.Table.Table), key: fmt.Sprint(img[0])}
				if c.table == "w.t" && c.key == "1" && action == "insert" {
					first = img
				}
				out = append(out, c)
			}
		}
	}
	return out, first, afterXID
}

var workloadChanges = []string{
	"insert w.t 1", "insert w.t 2",
	"insert w.t 3", "update w.t 3", "delete w.t 2",
	"update w.t 1", "update w.t 3",
	"insert w.u a", "insert w.u b", "insert w.u c",
	"delete w.u b",
}

// TestGoMySQLStreams: go-mysql's BinlogSyncer, an independent replica
// implementation, streams from a running server by file/position and by
// GTID set, sees every row change in order with the right values, and can
// resume from a position in the middle of the stream.
func TestGoMySQLStreams(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	binlogWorkload(t, db, "w", true)

	st, err := newSyncer(t, srv).StartSync(gmysql.Position{Name: "binlog.000001", Pos: 4})
	if err != nil {
		t.Fatal(err)
	}
	got, first, afterXID := collect(t, st, len(workloadChanges))
	if fmt.Sprint(got) != fmt.Sprint(workloadChanges) {
		t.Fatalf("changes by file/position:\n got  %v\n want %v", got, workloadChanges)
	}
	wantFirst := map[int]string{
		0: "1", 1: "-128", 2: "255", 9: "-9223372036854775808", 10: "18446744073709551615",
		11: "-12345678.90", 14: "2024-02-29", 17: "2024-02-29 23:59:59.123456", 20: "ab",
		21: "héllo ✓ 'q'", 26: "2" /* ENUM as its index */, 29: `{"a":[1,2.5,"x",null,true]}`,
	}
	for i, want := range wantFirst {
		v := first[i]
		var s string
		switch x := v.(type) {
		case []byte:
			s = string(x)
		case string:
			s = x
		default:
			s = fmt.Sprint(x)
		}
		s = strings.ReplaceAll(s, " ", "")
		if s != strings.ReplaceAll(want, " ", "") {
			t.Errorf("row 1 column %d = %#v, want %s", i, v, want)
		}
	}

	// Resume after the first transaction's XID: the stream starts with
	// the second insert.
	st2, err := newSyncer(t, srv).StartSync(afterXID[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := collect(t, st2, len(workloadChanges)-1); fmt.Sprint(got) != fmt.Sprint(workloadChanges[1:]) {
		t.Fatalf("resumed at %v:\n got  %v\n want %v", afterXID[0], got, workloadChanges[1:])
	}

	// By GTID: the replica already has CREATE DATABASE, CREATE TABLE and
	// the first insert.
	var uuid string
	if err := db.QueryRow("SELECT @@server_uuid").Scan(&uuid); err != nil {
		t.Fatal(err)
	}
	set, err := gmysql.ParseMysqlGTIDSet(uuid + ":1-3")
	if err != nil {
		t.Fatal(err)
	}
	st3, err := newSyncer(t, srv).StartSyncGTID(set)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := collect(t, st3, len(workloadChanges)-1); fmt.Sprint(got) != fmt.Sprint(workloadChanges[1:]) {
		t.Fatalf("by GTID set %s:\n got  %v\n want %v", set, got, workloadChanges[1:])
	}

	// A live stream sees new commits at once.
	mustExec(t, db, "INSERT INTO w.u VALUES ('live', 9)")
	if got, _, _ := collect(t, st3, 1); fmt.Sprint(got) != "[insert w.u live]" {
		t.Fatalf("live change: %v", got)
	}
}

// TestDumpErrors: a dump from an unknown file gets MySQL's 1236; SHOW
// REPLICAS lists a registered go-mysql replica.
func TestDumpErrors(t *testing.T) {
	srv := StartServer(t)
	st, err := newSyncer(t, srv).StartSync(gmysql.Position{Name: "binlog.999999", Pos: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = st.GetEvent(ctx)
	if err == nil || !strings.Contains(err.Error(), "1236") || !strings.Contains(err.Error(), "Could not find first log file name in binary log index file") {
		t.Fatalf("dump from an unknown file: %v", err)
	}

	live, err := newSyncer(t, srv).StartSync(gmysql.Position{Name: "binlog.000001", Pos: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.GetEvent(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := srv.DB(t, "").Query("SHOW REPLICAS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, port, source uint32
		var host, uuid string
		if err := rows.Scan(&id, &host, &port, &source, &uuid); err != nil {
			t.Fatal(err)
		}
		if id < 1000 {
			t.Errorf("replica server id %d", id)
		}
		n++
	}
	if n == 0 {
		t.Fatal("SHOW REPLICAS lists no replica")
	}
}

// BenchmarkStreamingLatency measures, for each autocommit INSERT, the time
// from sending it to a go-mysql replica on loopback receiving its XID
// event (so it includes the commit with its fsync). Reports p50 and p99.
//
//	go test ./integration -run x -bench StreamingLatency -benchtime 2000x
func BenchmarkStreamingLatency(b *testing.B) {
	srv := StartServer(b)
	db := srv.DB(b, "")
	mustExec(b, db, "CREATE DATABASE lat")
	mustExec(b, db, "CREATE TABLE lat.t (id INT PRIMARY KEY)")
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{ServerID: nextServerID(), Flavor: "mysql", Logger: quietLog, Host: host, Port: uint16(p), User: "root"})
	defer syncer.Close()
	var status struct {
		file string
		pos  uint32
	}
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&status.file, &status.pos, new(string), new(string), new(string)); err != nil {
		b.Fatal(err)
	}
	st, err := syncer.StartSync(gmysql.Position{Name: status.file, Pos: status.pos})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	lat := make([]time.Duration, 0, b.N)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := conn.ExecContext(ctx, "INSERT INTO lat.t VALUES (?)", i); err != nil {
			b.Fatal(err)
		}
		for {
			ev, err := st.GetEvent(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := ev.Event.(*replication.XIDEvent); ok {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat, "commit-to-receipt")
}

func reportPercentiles(b *testing.B, lat []time.Duration, what string) {
	if len(lat) == 0 {
		return
	}
	sorted := append([]time.Duration(nil), lat...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	b.ReportMetric(float64(sorted[len(sorted)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(sorted[len(sorted)*99/100].Microseconds()), "p99-µs")
	b.Logf("%s: p50 %v p99 %v over %d", what, sorted[len(sorted)/2], sorted[len(sorted)*99/100], len(sorted))
}

// TestDumpOfPurgedGTIDs: a GTID dump whose set lacks transactions that were
// purged gets MySQL's 1236 "the source purged required binary logs".
func TestDumpOfPurgedGTIDs(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE p1")
	mustExec(t, db, "FLUSH BINARY LOGS")
	mustExec(t, db, "CREATE DATABASE p2")
	mustExec(t, db, "PURGE BINARY LOGS TO 'binlog.000002'")
	empty, err := gmysql.ParseMysqlGTIDSet("")
	if err != nil {
		t.Fatal(err)
	}
	st, err := newSyncer(t, srv).StartSyncGTID(empty)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, err = st.GetEvent(ctx)
		if err != nil {
			break
		}
	}
	if !strings.Contains(err.Error(), "1236") || !strings.Contains(err.Error(), "Cannot replicate because the source purged required binary logs") {
		t.Fatalf("GTID dump missing purged transactions: %v", err)
	}
}
