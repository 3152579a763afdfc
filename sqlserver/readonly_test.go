package sqlserver

import (
	"strings"
	"testing"
)

// TestReadOnly: read_only refuses writes with 1290 to accounts without SUPER or
// CONNECTION_ADMIN, super_read_only to every account; reads, SET, transaction control and
// replication statements still run; the two variables keep each other consistent as in MySQL.
func TestReadOnly(t *testing.T) {
	s, _ := startServer(t, Config{Port: 0})
	root := open(t, dsn(s, "root", ""))
	for _, q := range []string{
		"CREATE DATABASE d", "CREATE TABLE d.t (id INT PRIMARY KEY, v INT)", "INSERT INTO d.t VALUES (1, 1)",
		"CREATE USER app@'%' IDENTIFIED BY 'pw'", "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, EXECUTE ON *.* TO app@'%'",
		"CREATE PROCEDURE d.add_row() INSERT INTO d.t VALUES (100, 100)",
		"CREATE USER admin@'%' IDENTIFIED BY 'pw'", "GRANT SELECT, INSERT, CREATE ON *.* TO admin@'%'", "GRANT SUPER ON *.* TO admin@'%'",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	app := open(t, dsn(s, "app", "pw"))
	admin := open(t, dsn(s, "admin", "pw"))

	const (
		roText    = "The MySQL server is running with the --read-only option so it cannot execute this statement"
		superText = "The MySQL server is running with the --super-read-only option so it cannot execute this statement"
	)
	writes := []string{
		"INSERT INTO d.t VALUES (2, 2)",
		"UPDATE d.t SET v = 5 WHERE id = 1",
		"DELETE FROM d.t WHERE id = 1",
		"REPLACE INTO d.t VALUES (1, 9)",
		"CREATE TABLE d.u (a INT PRIMARY KEY)",
		"CREATE DATABASE e",
		"DROP TABLE d.t",
		"ALTER TABLE d.t ADD COLUMN w INT",
		"CREATE INDEX iv ON d.t (v)",
		"CREATE TABLE d.c AS SELECT * FROM d.t",
		"INSERT INTO d.t SELECT id + 10, v FROM d.t",
		"TRUNCATE d.t",
		"DROP DATABASE d",
		"CALL d.add_row()",
	}
	// Account management and routines, for root under super_read_only (app lacks the privileges).
	adminWrites := []string{
		"CREATE USER someone@'%'",
		"GRANT SELECT ON d.* TO app@'%'",
		"DROP USER app@'%'",
		"RENAME USER app@'%' TO app2@'%'",
		"SET PASSWORD FOR app@'%' = 'x'",
		"CREATE PROCEDURE d.p2() SELECT 1",
	}
	allowed := []string{
		"SELECT * FROM d.t",
		"SHOW TABLES FROM d",
		"SET @x = 1",
		"SET SESSION sql_mode = ''",
		"BEGIN", "COMMIT",
		"START TRANSACTION", "ROLLBACK",
		"SELECT @@global.read_only",
	}
	// run calls f and checks it fails with 1290 and text, or succeeds when text is empty.
	run := func(name string, db func() error, text string) {
		t.Helper()
		err := db()
		switch {
		case text == "" && err != nil:
			t.Errorf("%s: %v, want success", name, err)
		case text != "" && (errNumber(err) != 1290 || !strings.Contains(err.Error(), text)):
			t.Errorf("%s: %v, want 1290 %q", name, err, text)
		}
	}

	if _, err := root.Exec("SET GLOBAL read_only = ON"); err != nil {
		t.Fatal(err)
	}
	for _, q := range writes {
		run("app under read_only: "+q, func() error { _, err := app.Exec(q); return err }, roText)
	}
	// A prepared statement (placeholders) is checked at execution.
	run("app prepared insert", func() error { _, err := app.Exec("INSERT INTO d.t VALUES (?, ?)", 3, 3); return err }, roText)
	for _, q := range allowed {
		run("app under read_only: "+q, func() error { _, err := app.Exec(q); return err }, "")
	}
	// SUPER (root, admin) bypasses read_only (GMS cannot GRANT CONNECTION_ADMIN, which would too).
	run("root insert", func() error { _, err := root.Exec("INSERT INTO d.t VALUES (4, 4)"); return err }, "")
	run("root prepared insert", func() error { _, err := root.Exec("INSERT INTO d.t VALUES (?, ?)", 5, 5); return err }, "")
	run("super insert", func() error { _, err := admin.Exec("INSERT INTO d.t VALUES (6, 6)"); return err }, "")
	run("super create", func() error { _, err := admin.Exec("CREATE TABLE d.a (a INT PRIMARY KEY)"); return err }, "")

	// super_read_only refuses everyone, and turned read_only on with it.
	if _, err := root.Exec("SET GLOBAL read_only = OFF"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("SET GLOBAL super_read_only = ON"); err != nil {
		t.Fatal(err)
	}
	var ro, sro int
	if err := root.QueryRow("SELECT @@global.read_only, @@global.super_read_only").Scan(&ro, &sro); err != nil || ro != 1 || sro != 1 {
		t.Fatalf("after SET GLOBAL super_read_only = ON: read_only=%d super_read_only=%d (%v), want 1 1", ro, sro, err)
	}
	for _, db := range []struct {
		name string
		q    func(string, ...any) error
	}{
		{"root", func(q string, a ...any) error { _, err := root.Exec(q, a...); return err }},
		{"app", func(q string, a ...any) error { _, err := app.Exec(q, a...); return err }},
		{"super", func(q string, a ...any) error { _, err := admin.Exec(q, a...); return err }},
	} {
		for _, q := range writes {
			run(db.name+" under super_read_only: "+q, func() error { return db.q(q) }, superText)
		}
		run(db.name+" prepared insert under super_read_only", func() error { return db.q("INSERT INTO d.t VALUES (?, ?)", 7, 7) }, superText)
	}
	for _, q := range adminWrites {
		run("root under super_read_only: "+q, func() error { _, err := root.Exec(q); return err }, superText)
	}
	for _, q := range append(allowed, "FLUSH PRIVILEGES") {
		run("root under super_read_only: "+q, func() error { _, err := root.Exec(q); return err }, "")
	}

	// read_only OFF turns super_read_only off too; writes work again.
	if _, err := root.Exec("SET GLOBAL read_only = OFF"); err != nil {
		t.Fatal(err)
	}
	if err := root.QueryRow("SELECT @@global.read_only, @@global.super_read_only").Scan(&ro, &sro); err != nil || ro != 0 || sro != 0 {
		t.Fatalf("after SET GLOBAL read_only = OFF: read_only=%d super_read_only=%d (%v), want 0 0", ro, sro, err)
	}
	run("app insert after read_only OFF", func() error { _, err := app.Exec("INSERT INTO d.t VALUES (8, 8)"); return err }, "")
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM d.t WHERE id IN (4, 5, 6, 8)").Scan(&n); err != nil || n != 4 {
		t.Fatalf("rows written by the accounts allowed to: %d (%v), want 4", n, err)
	}
	if err := root.QueryRow("SELECT COUNT(*) FROM d.t WHERE id IN (2, 3, 7, 100)").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows written despite read_only: %d (%v), want 0", n, err)
	}
}

// TestReadOnlyAtStart: Config.SuperReadOnly starts the server with both variables ON.
func TestReadOnlyAtStart(t *testing.T) {
	s, _ := startServer(t, Config{Port: 0, SuperReadOnly: true})
	root := open(t, dsn(s, "root", ""))
	var ro, sro int
	if err := root.QueryRow("SELECT @@global.read_only, @@global.super_read_only").Scan(&ro, &sro); err != nil || ro != 1 || sro != 1 {
		t.Fatalf("read_only=%d super_read_only=%d (%v), want 1 1", ro, sro, err)
	}
	_, err := root.Exec("CREATE DATABASE x")
	if errNumber(err) != 1290 {
		t.Fatalf("CREATE DATABASE under super_read_only: %v, want 1290", err)
	}
}
