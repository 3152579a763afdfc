package integration

import (
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestCompatMySQLClient checks through the mysql command-line client what a MySQL user sees:
// the banner's version comment, statements dump files and the client send, SHOW TRIGGERS FROM,
// SHOW PROCESSLIST's Host, and a start without secure_file_priv warnings.
func TestCompatMySQLClient(t *testing.T) {
	client := mysqlClient(t)
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE trg")
	mustExec(t, db, "CREATE TABLE trg.t (id int PRIMARY KEY, v int)")
	mustExec(t, db, "CREATE TRIGGER trg.t_v BEFORE INSERT ON trg.t FOR EACH ROW SET NEW.v = 1")

	tests := []struct {
		stmt string
		want *regexp.Regexp // the client's batch output
	}{
		{`\s`, regexp.MustCompile(`(?m)^Server version:\s+8\.0\.40-semisyncd semisyncd, MySQL-compatible server with semi-synchronous replication$`)},
		{`/*M!999999\- enable the sandbox mode */ SELECT 5`, regexp.MustCompile(`^5\n5\n$`)},
		{"FLUSH /*!40101 LOCAL */ TABLES", regexp.MustCompile(`^$`)},
		{"CREATE TABLE trg.y (id int PRIMARY KEY, y year(4))", regexp.MustCompile(`^$`)},
		{"DO 1 + 1", regexp.MustCompile(`^$`)},
		{"HELP 'select'", regexp.MustCompile(`^$`)},
		{"SHOW TRIGGERS FROM trg", regexp.MustCompile(`(?m)^t_v\tINSERT\tt\tSET NEW\.v = 1\tBEFORE\t`)},
		{"SHOW PROCESSLIST", regexp.MustCompile(`(?m)^\d+\troot\t127\.0\.0\.1:\d+\tNULL\t`)},
		{"SELECT @@datadir", regexp.MustCompile(`^@@datadir\n` + regexp.QuoteMeta(strings.TrimSuffix(srv.DataDir, "/")) + `/\n$`)},
	}
	for _, tt := range tests {
		out, code := runClient(t, client, srv, "root", "-B", tt.stmt)
		if code != 0 || !tt.want.MatchString(out) {
			t.Errorf("%s: exit %d, output:\n%s\nwant it to match %s", tt.stmt, code, out, tt.want)
		}
	}
	// Column metadata, as the client's --column-type-info shows it.
	mustExec(t, db, "CREATE TABLE trg.m (y year, f float, d double, b bit(3), i int)")
	host, port, _ := net.SplitHostPort(srv.Addr)
	raw, err := exec.Command(client, "--no-defaults", "--protocol=TCP", "-h"+host, "-P"+port, "-uroot",
		"-t", "--column-type-info", "-e", "SELECT A.* FROM trg.m AS A").CombinedOutput()
	out, code := string(raw), 0
	if err != nil {
		code = 1
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Field   1:  \x60y\x60\n(?s:.*?)Table:      \x60A\x60\n(?s:.*?)Type:       YEAR\nCollation:  binary \(63\)\nLength:     4\nMax_length: 0\nDecimals:   0\nFlags:      UNSIGNED ZEROFILL NUM`),
		regexp.MustCompile(`Field   2:  \x60f\x60\n(?s:.*?)Type:       FLOAT\nCollation:  binary \(63\)\nLength:     12\nMax_length: 0\nDecimals:   31\n`),
		regexp.MustCompile(`Field   3:  \x60d\x60\n(?s:.*?)Type:       DOUBLE\nCollation:  binary \(63\)\nLength:     22\nMax_length: 0\nDecimals:   31\n`),
		regexp.MustCompile(`Field   4:  \x60b\x60\n(?s:.*?)Type:       BIT\nCollation:  binary \(63\)\nLength:     3\nMax_length: 0\nDecimals:   0\nFlags:      UNSIGNED`),
		regexp.MustCompile(`Field   5:  \x60i\x60\n(?s:.*?)Type:       LONG\nCollation:  binary \(63\)\n`),
	} {
		if code != 0 || !want.MatchString(out) {
			t.Errorf("column metadata: exit %d, output:\n%s\nwant it to match %s", code, out, want)
		}
	}
	if strings.Contains(srv.Logs(), "secure_file_priv") {
		t.Errorf("secure_file_priv warnings at start:\n%s", srv.Logs())
	}
}
