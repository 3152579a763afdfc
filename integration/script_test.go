package integration

// Data-driven SQL scripts: testdata/semisync/*.script hold statements and the exact output the
// mysql command-line client prints for them in batch mode (-B --show-warnings), so one file is
// both the specification and the test, and runs through two clients: go-sql-driver (always,
// with the output formatted as the client would) and the real mariadb client (when installed).
//
// Format, line by line:
//
//	# comment                 ignored
//	@server --flag=value …    first line only: flags for the server the script starts
//	@connect user             later statements run as user (empty password); "root" goes back
//	@restart [--flag …]       stop the server, start it again on the same data directory with
//	                          these flags (instead of @server's)
//
// Comments and directives stand after a blank line.
//	> statement               a statement, on one line
//	expected output           every line up to the next blank line or '>' line: the rows
//	                          (header first, tab-separated, NULL as NULL), then one line per
//	                          warning "Level (Code N): text"; or "ERROR N (SQLSTATE): text".
//	                          No lines: OK, or an empty result set.
//
// go test ./integration -run TestSemisyncScripts -update rewrites the expectations with what
// the server printed; review the diff before committing it.

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/semisync/*.script")

// scriptStep is one line of a script that does something.
type scriptStep struct {
	line int
	kind string   // "stmt", "connect" or "restart"
	arg  string   // the statement or the user
	args []string // restart flags
	want []string // expected output lines
}

type script struct {
	path  string
	args  []string
	steps []scriptStep
	lines []string // the file, for -update
}

func parseScript(t *testing.T, path string) script {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := script{path: path, lines: strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")}
	var cur *scriptStep
	for i, line := range s.lines {
		switch {
		case strings.HasPrefix(line, "> "):
			s.steps = append(s.steps, scriptStep{line: i + 1, kind: "stmt", arg: strings.TrimPrefix(line, "> ")})
			cur = &s.steps[len(s.steps)-1]
		case line == "":
			cur = nil
		case cur != nil:
			cur.want = append(cur.want, line)
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "@server"):
			if i != 0 {
				t.Fatalf("%s:%d: @server must be the first line", path, i+1)
			}
			s.args = strings.Fields(line)[1:]
		case strings.HasPrefix(line, "@connect "):
			s.steps = append(s.steps, scriptStep{line: i + 1, kind: "connect", arg: strings.TrimSpace(strings.TrimPrefix(line, "@connect "))})
		case strings.HasPrefix(line, "@restart"):
			s.steps = append(s.steps, scriptStep{line: i + 1, kind: "restart", args: strings.Fields(line)[1:]})
		default:
			t.Fatalf("%s:%d: not a statement, directive or comment: %q", path, i+1, line)
		}
	}
	return s
}

// scriptClient runs one statement as a user and returns what the mysql client prints for it.
type scriptClient interface {
	run(t *testing.T, srv *Server, user, stmt string) []string
	reset() // the server restarted: forget connections
}

// runScripts runs every script through client.
func runScripts(t *testing.T, newClient func() scriptClient) {
	paths, err := filepath.Glob(filepath.Join("testdata", "semisync", "*.script"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".script"), func(t *testing.T) {
			runScript(t, parseScript(t, path), newClient())
		})
	}
}

func runScript(t *testing.T, s script, client scriptClient) {
	srv := StartServer(t, WithArgs(s.args...))
	user := "root"
	got := map[int][]string{} // output by statement line, for -update
	for _, st := range s.steps {
		switch st.kind {
		case "connect":
			user = st.arg
		case "restart":
			client.reset()
			srv = srv.RestartWithArgs(t, st.args...)
		case "stmt":
			out := client.run(t, srv, user, st.arg)
			got[st.line] = out
			if !*update && strings.Join(out, "\n") != strings.Join(st.want, "\n") {
				t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", s.path, st.line, st.arg, strings.Join(out, "\n"), strings.Join(st.want, "\n"))
			}
		}
	}
	if *update {
		rewriteScript(t, s, got)
	}
}

// rewriteScript writes s back with each statement's expectation replaced by got.
func rewriteScript(t *testing.T, s script, got map[int][]string) {
	var out []string
	skipping := false
	for i, line := range s.lines {
		if skipping {
			if line == "" || strings.HasPrefix(line, "> ") {
				skipping = false
			} else {
				continue
			}
		}
		out = append(out, line)
		if lines, ok := got[i+1]; ok {
			out = append(out, lines...)
			skipping = true
		}
	}
	if err := os.WriteFile(s.path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// driverClient runs statements through go-sql-driver, one session per user, and formats the
// results as the mysql client's batch mode does.
type driverClient struct {
	conns map[string]*sql.Conn
}

func (c *driverClient) reset() { c.conns = nil }

func (c *driverClient) conn(t *testing.T, srv *Server, user string) *sql.Conn {
	if conn, ok := c.conns[user]; ok {
		return conn
	}
	if c.conns == nil {
		c.conns = map[string]*sql.Conn{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dsn := srv.DSN("")
	if user != "root" {
		dsn = srv.UserDSN(user, "", "")
	}
	conn, err := openDB(t, dsn).Conn(ctx)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { conn.Close() })
	c.conns[user] = conn
	return conn
}

func (c *driverClient) run(t *testing.T, srv *Server, user, stmt string) []string {
	conn := c.conn(t, srv, user)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := queryBatch(ctx, conn, stmt)
	if err != nil {
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			t.Fatalf("%s: %v", stmt, err)
		}
		return []string{fmt.Sprintf("ERROR %d (%s): %s", me.Number, me.SQLState[:], me.Message)}
	}
	warnings, err := queryBatch(ctx, conn, "SHOW WARNINGS")
	if err != nil {
		t.Fatalf("SHOW WARNINGS after %s: %v", stmt, err)
	}
	for _, w := range warnings[min(1, len(warnings)):] { // Level, Code, Message
		f := strings.SplitN(w, "\t", 3)
		out = append(out, fmt.Sprintf("%s (Code %s): %s", f[0], f[1], f[2]))
	}
	return out
}

// queryBatch runs query and returns its result in batch form: a header line and one line per
// row, tab-separated; nothing for an empty result or a statement without one.
func queryBatch(ctx context.Context, conn *sql.Conn, query string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if len(out) == 0 {
			out = append(out, strings.Join(cols, "\t"))
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			fields[i] = batchEscape(v)
		}
		out = append(out, strings.Join(fields, "\t"))
	}
	return out, rows.Err()
}

// batchEscape is a value as the mysql client prints it in batch mode.
func batchEscape(v sql.RawBytes) string {
	if v == nil {
		return "NULL"
	}
	return strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\x00", "\\0").Replace(string(v))
}

// mysqlClient finds the mysql command-line client, or skips the test.
func mysqlClient(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"mariadb", "mysql"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no mysql client: install the Debian package mariadb-client")
	return ""
}

// commandClient runs each statement through the real mysql client, as the MariaDB lab did
// (reference/mariadb: --no-defaults --protocol=TCP -B --show-warnings -e).
type commandClient struct{ path string }

func (c commandClient) reset() {}

// echoedStatement is what the client prints before an error with -e: the statement between
// dashed lines.
var echoedStatement = regexp.MustCompile(`(?s)^-{14}\n.*?\n-{14}\n\n`)

// atLine is the client's "at line N" in batch error messages, which the scripts leave out.
var atLine = regexp.MustCompile(`^(ERROR \d+ \(\w+\)) at line \d+:`)

func (c commandClient) run(t *testing.T, srv *Server, user, stmt string) []string {
	out, code := runClient(t, c.path, srv, user, "-B", stmt)
	out = echoedStatement.ReplaceAllString(out, "")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		lines = nil
	}
	for i, l := range lines {
		lines[i] = atLine.ReplaceAllString(l, "$1:")
	}
	if wantErr := len(lines) > 0 && strings.HasPrefix(lines[0], "ERROR "); (code != 0) != wantErr {
		t.Errorf("%s: client exit status %d with output %q", stmt, code, out)
	}
	return lines
}

// runClient runs the client with format flag (-B or --table) and --show-warnings on one
// statement, and returns its stdout and stderr together, and its exit status.
func runClient(t *testing.T, client string, srv *Server, user, format, stmt string) (string, int) {
	t.Helper()
	host, port, _ := net.SplitHostPort(srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--no-defaults", "--protocol=TCP", "-h"+host, "-P"+port, "-u"+user,
		format, "--show-warnings", "-e", stmt)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("%s: %v", client, err)
	return "", 0
}

// TestSemisyncScripts runs the scripts through go-sql-driver.
func TestSemisyncScripts(t *testing.T) {
	runScripts(t, func() scriptClient { return &driverClient{} })
}

// TestSemisyncScriptsMySQLClient runs the same scripts through the real mysql command-line
// client, whose batch output must be the scripts' expectations byte for byte.
func TestSemisyncScriptsMySQLClient(t *testing.T) {
	if *update {
		t.Skip("-update rewrites from TestSemisyncScripts")
	}
	client := mysqlClient(t)
	runScripts(t, func() scriptClient { return commandClient{path: client} })
}
