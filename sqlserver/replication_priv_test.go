package sqlserver

import (
	"testing"
)

// TestBinaryLogStatusNeedsReplicationClient: SHOW MASTER STATUS / SHOW BINARY LOG STATUS and
// SHOW BINARY LOGS need REPLICATION CLIENT (or SUPER), as in MySQL 8.0.
func TestBinaryLogStatusNeedsReplicationClient(t *testing.T) {
	s, _ := startServer(t, Config{DataDir: t.TempDir()})
	root := open(t, dsn(s, "root", ""))
	for _, q := range []string{
		"CREATE USER plain@'%' IDENTIFIED BY 'pw'",
		"CREATE USER mon@'%' IDENTIFIED BY 'pw'", "GRANT REPLICATION CLIENT ON *.* TO mon@'%'",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	plain, mon := open(t, dsn(s, "plain", "pw")), open(t, dsn(s, "mon", "pw"))
	const denied = "Error 1227 (42000): Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation"
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS", "SHOW BINARY LOGS"} {
		rows, err := plain.Query(q)
		if err == nil {
			rows.Close()
		}
		// GMS refuses the two newer spellings itself, naming REPLICATION CLIENT only.
		if errNumber(err) != 1227 || (q == "SHOW MASTER STATUS" && err.Error() != denied) {
			t.Errorf("%s without REPLICATION CLIENT: %v, want %s", q, err, denied)
		}
		rows, err = mon.Query(q)
		if err != nil {
			t.Errorf("%s with REPLICATION CLIENT: %v", q, err)
			continue
		}
		if !rows.Next() {
			t.Errorf("%s with REPLICATION CLIENT: no row", q)
		}
		rows.Close()
	}
}
