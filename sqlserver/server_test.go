package sqlserver

import (
	"context"
	gosql "database/sql"
	"errors"
	"github.com/semisyncd/semisyncd/storage"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// These tests run servers inside the test process, one after the other: GMS's system variables
// are process-global, so they never run in parallel, and each test sets what it checks.

// startServer starts a server on 127.0.0.1 with a free port; it is closed when the test ends.
func startServer(t *testing.T, cfg Config) (*Server, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	s, err := New(cfg, storage.New(storage.Options{}), logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, hook
}

func dsn(s *Server, user, password string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = user, password, "tcp", s.Addr()
	cfg.Timeout = 5 * time.Second
	return cfg.FormatDSN()
}

func open(t *testing.T, dsn string) *gosql.DB {
	t.Helper()
	db, err := gosql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func errNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func TestServerStartsOnAFreePort(t *testing.T) {
	s, hook := startServer(t, Config{Port: 0, ServerID: 42})
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q", s.Addr())
	}
	var ready *logrus.Entry
	for _, e := range hook.AllEntries() {
		if e.Message == "ready" {
			ready = e
		}
	}
	if ready == nil || ready.Level != logrus.InfoLevel || ready.Data["addr"] != s.Addr() || ready.Data["backend"] != "storage" {
		t.Fatalf("ready line = %+v, want info with addr=%s backend=storage", ready, s.Addr())
	}

	var version, versionFn string
	var serverID int
	db := open(t, dsn(s, "root", ""))
	if err := db.QueryRow("SELECT @@version, VERSION(), @@server_id").Scan(&version, &versionFn, &serverID); err != nil {
		t.Fatal(err)
	}
	if version != DefaultVersion || versionFn != DefaultVersion || serverID != 42 {
		t.Errorf("@@version %q, VERSION() %q, @@server_id %d; want %q, %q, 42", version, versionFn, serverID, DefaultVersion, DefaultVersion)
	}
	if err := open(t, dsn(s, "root", "wrong")).Ping(); errNumber(err) != 1045 {
		t.Errorf("wrong password: %v, want 1045", err)
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if _, err := New(Config{Port: port}, storage.New(storage.Options{}), nil); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("New on a busy port: %v", err)
	}
}

// helloNode is a statement node the test registers through the parser.
type helloNode struct{}

func (helloNode) Resolved() bool   { return true }
func (helloNode) String() string   { return "HELLO" }
func (helloNode) IsReadOnly() bool { return true }
func (helloNode) Schema(*sql.Context) sql.Schema {
	return sql.Schema{{Name: "greeting", Type: types.LongText}}
}
func (helloNode) Children() []sql.Node                                       { return nil }
func (n helloNode) WithChildren(*sql.Context, ...sql.Node) (sql.Node, error) { return n, nil }
func (helloNode) RowIter(*sql.Context, sql.Row) (sql.RowIter, error) {
	return sql.RowsToRowIter(sql.NewRow("hello")), nil
}

type helloStatement struct{}

func (helloStatement) WithResolvedChildren(context.Context, []any) (any, error) {
	return helloNode{}, nil
}

func TestRegisteredStatementsAndPanics(t *testing.T) {
	s, hook := startServer(t, Config{})
	s.Parser().RegisterStatement(
		func(prefix string) bool { return prefix == "SAY HELLO" },
		func(*sql.Context, string) (ast.Statement, error) {
			return ast.InjectedStatement{
				Statement: helloStatement{},
				Auth:      ast.AuthInformation{AuthType: ast.AuthType_IGNORE, TargetType: ast.AuthTargetType_Ignore},
			}, nil
		})
	s.Parser().RegisterStatement(
		func(prefix string) bool { return strings.HasPrefix(prefix, "PANIC") },
		func(*sql.Context, string) (ast.Statement, error) { panic("deliberate test panic") })

	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1) // the same connection survives the panic
	var greeting string
	if err := db.QueryRow("say   hello").Scan(&greeting); err != nil || greeting != "hello" {
		t.Fatalf("registered statement: %q, %v", greeting, err)
	}

	_, err := db.Exec("PANIC NOW")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1105 || !strings.Contains(me.Message, "deliberate test panic") {
		t.Fatalf("panicking statement: %v, want 1105 naming the panic", err)
	}
	logged := false
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel && e.Data["panic"] == "deliberate test panic" && e.Data["stack"] != nil {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the panic was not logged at error level with its stack")
	}
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the panic: %d, %v", one, err)
	}
}

func TestSetGlobalPrivileges(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	for _, q := range []string{
		"CREATE USER 'plain'@'localhost'",
		"CREATE USER 'admin'@'localhost'",
		"GRANT SUPER ON *.* TO 'admin'@'localhost'",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := open(t, dsn(s, "plain", "")).Exec("SET GLOBAL max_connections = 99"); errNumber(err) != 1227 {
		t.Errorf("SET GLOBAL without privilege: %v, want 1227", err)
	}
	if _, err := open(t, dsn(s, "admin", "")).Exec("SET GLOBAL max_connections = 98"); err != nil {
		t.Errorf("SET GLOBAL with SUPER: %v", err)
	}
	if _, err := root.Exec("SET GLOBAL max_connections = 151"); err != nil {
		t.Errorf("SET GLOBAL as root: %v", err)
	}
}

func TestSetGlobalReachesExistingSessions(t *testing.T) {
	s, _ := startServer(t, Config{})
	ctx := context.Background()
	db := open(t, dsn(s, "root", ""))
	setter, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer setter.Close()
	observer, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()

	if _, err := setter.ExecContext(ctx, "SET GLOBAL max_connections = 300"); err != nil {
		t.Fatal(err)
	}
	defer db.Exec("SET GLOBAL max_connections = 151")
	var bare, global, name, shown string
	if err := observer.QueryRowContext(ctx, "SELECT @@max_connections, @@global.max_connections").Scan(&bare, &global); err != nil {
		t.Fatal(err)
	}
	if err := observer.QueryRowContext(ctx, "SHOW SESSION VARIABLES LIKE 'max_connections'").Scan(&name, &shown); err != nil {
		t.Fatal(err)
	}
	if bare != "300" || global != "300" || shown != "300" {
		t.Errorf("observer: @@x %s, @@global.x %s, SHOW VARIABLES %s; want 300", bare, global, shown)
	}
	if _, err := observer.ExecContext(ctx, "SET max_connections = 5"); errNumber(err) != 1229 {
		t.Errorf("SET without GLOBAL: %v, want 1229", err)
	}
	if _, err := observer.ExecContext(ctx, "SET server_id = 5"); errNumber(err) != 1229 {
		t.Errorf("SET server_id without GLOBAL: %v, want 1229", err)
	}
}

func TestAccountsPersistInDataDir(t *testing.T) {
	dir := t.TempDir()
	s, _ := startServer(t, Config{DataDir: dir, Password: "first"})
	if _, err := open(t, dsn(s, "root", "first")).Exec("CREATE USER 'bob'@'localhost' IDENTIFIED BY 'bobpw'"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, _ = startServer(t, Config{DataDir: dir, Password: "second"})
	if err := open(t, dsn(s, "bob", "bobpw")).Ping(); err != nil {
		t.Errorf("bob after restart: %v", err)
	}
	if err := open(t, dsn(s, "root", "second")).Ping(); err != nil {
		t.Errorf("root with the configured password: %v", err)
	}
	if err := open(t, dsn(s, "root", "first")).Ping(); errNumber(err) != 1045 {
		t.Errorf("root with the old password: %v, want 1045", err)
	}
}

func TestCloseIsBoundedAndEndsConnections(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	// A third connection runs a long statement; wait until the server runs it.
	sleeping := make(chan error, 1)
	go func() {
		_, err := db.Exec("SELECT SLEEP(60)")
		sleeping <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !processListHas(t, db, "SLEEP(60)") {
		if time.Now().After(deadline) {
			t.Fatal("the SLEEP statement never showed in the process list")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a statement running", d)
	}
	if err := conn.PingContext(context.Background()); err == nil {
		t.Errorf("a connection survived Close")
	}
	if err := <-sleeping; err == nil {
		t.Errorf("the running statement completed as if nothing happened")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	unstarted, err := New(Config{}, storage.New(storage.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := unstarted.Close(); err != nil {
		t.Errorf("Close without Start: %v", err)
	}
}

// processListHas reports whether a statement containing text is running.
func processListHas(t *testing.T, db *gosql.DB, text string) bool {
	t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE CONCAT('%', ?, '%') AND info NOT LIKE '%processlist%'"
	if err := db.QueryRow(q, text).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
