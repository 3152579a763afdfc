package sqlserver

import (
	"strconv"
	"strings"
	"testing"
)

// TestShowEngineInnodbStatus: SHOW ENGINE INNODB STATUS gives one row (Type InnoDB, an empty Name, the monitor
// text) whose transaction id counter moves with transactions; MUTEX gives no rows; both need
// the PROCESS privilege (1227 without it).
func TestShowEngineInnodbStatus(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	counter := func() int {
		t.Helper()
		var typ, name, status string
		if err := root.QueryRow("SHOW ENGINE INNODB STATUS").Scan(&typ, &name, &status); err != nil {
			t.Fatal(err)
		}
		if typ != "InnoDB" || name != "" {
			t.Fatalf("Type %q, Name %q", typ, name)
		}
		for _, want := range []string{"INNODB MONITOR OUTPUT", "\nTRANSACTIONS\n", "\nROW OPERATIONS\n",
			"0 queries inside InnoDB, 0 queries in queue\n", "END OF INNODB MONITOR OUTPUT"} {
			if !strings.Contains(status, want) {
				t.Fatalf("status lacks %q:\n%s", want, status)
			}
		}
		_, rest, ok := strings.Cut(status, "Trx id counter ")
		if !ok {
			t.Fatalf("no Trx id counter:\n%s", status)
		}
		n, err := strconv.Atoi(strings.SplitN(rest, "\n", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := counter()
	mustExec(t, root, "CREATE DATABASE es", "CREATE TABLE es.t (a INT PRIMARY KEY)", "INSERT INTO es.t VALUES (1)", "INSERT INTO es.t VALUES (2)")
	if after := counter(); after <= before {
		t.Fatalf("Trx id counter %d after transactions, was %d", after, before)
	}
	rows, err := root.Query("SHOW ENGINE INNODB MUTEX")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	if strings.Join(cols, ",") != "Type,Name,Status" || rows.Next() {
		t.Fatalf("MUTEX: columns %v, rows %v", cols, rows.Next())
	}
	rows.Close()
	mustExec(t, root, "CREATE USER 'mon'@'%' IDENTIFIED BY 'pw'")
	mon := open(t, dsn(s, "mon", "pw"))
	if _, err := mon.Exec("SHOW ENGINE INNODB STATUS"); errNumber(err) != 1227 {
		t.Fatalf("without PROCESS: %v, want 1227", err)
	}
	mustExec(t, root, "GRANT PROCESS ON *.* TO 'mon'@'%'")
	var a, b, c string
	if err := mon.QueryRow("SHOW ENGINE INNODB STATUS").Scan(&a, &b, &c); err != nil {
		t.Fatalf("with PROCESS: %v", err)
	}
}
