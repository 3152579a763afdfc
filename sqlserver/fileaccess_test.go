package sqlserver

import (
	gosql "database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileAccess: LOAD_FILE, INTO OUTFILE/DUMPFILE and LOAD DATA need FILE and stay inside
// @@secure_file_priv, which defaults to a directory under the data directory.
func TestFileAccess(t *testing.T) {
	dataDir := t.TempDir()
	s, hook := startServer(t, Config{DataDir: dataDir})
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "secure_file_priv") {
			t.Fatalf("start warned: %s", e.Message)
		}
	}
	dir := filepath.Join(dataDir, SecureFilePrivDir)
	root := open(t, dsn(s, "root", ""))
	var got string
	if err := root.QueryRow("SELECT @@secure_file_priv").Scan(&got); err != nil || got != dir {
		t.Fatalf("@@secure_file_priv = %q %v, want %q", got, err, dir)
	}
	inside := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(inside, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE USER u@'%' IDENTIFIED BY 'pw'", "GRANT SELECT, INSERT ON *.* TO u@'%'",
		"CREATE USER f@'%' IDENTIFIED BY 'pw'", "GRANT SELECT, INSERT, FILE ON *.* TO f@'%'",
		"CREATE DATABASE d", "CREATE TABLE d.t (a VARCHAR(20))",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	u, f := open(t, dsn(s, "u", "pw")), open(t, dsn(s, "f", "pw"))
	loadFile := func(db *gosql.DB, path string) gosql.NullString {
		t.Helper()
		var v gosql.NullString
		if err := db.QueryRow("SELECT LOAD_FILE('" + path + "')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := loadFile(u, inside); v.Valid {
		t.Fatalf("LOAD_FILE without FILE = %q, want NULL", v.String)
	}
	if v := loadFile(f, inside); v.String != "hello" {
		t.Fatalf("LOAD_FILE inside secure_file_priv = %+v", v)
	}
	if v := loadFile(f, outside); v.Valid {
		t.Fatalf("LOAD_FILE outside secure_file_priv = %q, want NULL", v.String)
	}
	for _, tc := range []struct {
		db   *gosql.DB
		q    string
		code uint16
		msg  string
	}{
		{u, "SELECT 1 INTO OUTFILE '" + filepath.Join(dir, "a.txt") + "'", 1045, "Access denied for user 'u'@'%' (using password: YES)"},
		{u, "SELECT 1 INTO DUMPFILE '" + filepath.Join(dir, "b.txt") + "'", 1045, "Access denied for user 'u'@'%' (using password: YES)"},
		// GMS refuses LOAD DATA without FILE itself, with 1227 (MySQL: 1045).
		{u, "LOAD DATA INFILE '" + inside + "' INTO TABLE d.t", 1227, "you need (at least one of) the FILE privilege(s)"},
		{f, "SELECT 1 INTO OUTFILE '" + filepath.Join(filepath.Dir(outside), "w.txt") + "'", 1290, "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement"},
		{f, "SELECT 1 INTO OUTFILE '" + dir + "/../escape.txt'", 1290, "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement"},
		{f, "LOAD DATA INFILE '" + outside + "' INTO TABLE d.t", 1290, "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement"},
	} {
		_, err := tc.db.Exec(tc.q)
		if errNumber(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %d %s", tc.q, err, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(outside), "w.txt")); err == nil {
		t.Fatal("a refused INTO OUTFILE wrote its file")
	}
	if _, err := f.Exec("SELECT 'x' INTO OUTFILE '" + filepath.Join(dir, "ok.txt") + "'"); err != nil {
		t.Fatalf("INTO OUTFILE inside secure_file_priv: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ok.txt")); err != nil || string(b) != "x\n" {
		t.Fatalf("written file = %q %v", b, err)
	}
	if _, err := f.Exec("LOAD DATA INFILE '" + inside + "' INTO TABLE d.t"); err != nil {
		t.Fatalf("LOAD DATA inside secure_file_priv: %v", err)
	}
	var hidden int
	if err := u.QueryRow("SELECT COUNT(*) FROM d.t WHERE LOAD_FILE('" + inside + "') IS NULL").Scan(&hidden); err != nil || hidden != 1 {
		t.Fatalf("LOAD_FILE in a WHERE without FILE: %d rows see NULL (%v), want 1", hidden, err)
	}
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM d.t WHERE a = 'hello'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("loaded rows = %d %v", n, err)
	}
}

// TestFileAccessDisabled: secure_file_priv NULL refuses every file access, FILE or not.
func TestFileAccessDisabled(t *testing.T) {
	null := SecureFilePrivNull
	s, _ := startServer(t, Config{SecureFilePriv: &null})
	root := open(t, dsn(s, "root", ""))
	var v gosql.NullString
	if err := root.QueryRow("SELECT @@secure_file_priv").Scan(&v); err != nil || v.String != SecureFilePrivNull {
		t.Fatalf("@@secure_file_priv = %+v %v, want NULL", v, err)
	}
	path := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := root.QueryRow("SELECT LOAD_FILE('" + path + "')").Scan(&v); err != nil || v.Valid {
		t.Fatalf("LOAD_FILE = %+v %v, want NULL", v, err)
	}
	_, err := root.Exec("SELECT 1 INTO OUTFILE '" + path + ".out'")
	if errNumber(err) != 1290 {
		t.Fatalf("INTO OUTFILE: %v, want 1290", err)
	}
}
