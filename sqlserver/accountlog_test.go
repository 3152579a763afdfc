package sqlserver

import (
	gosql "database/sql"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

// TestAccountBinlogText: each clear-text password of an account statement is replaced by its
// account's stored plugin and authentication string (quoted so it reads back byte for byte);
// other IDENTIFIED forms, and statements without one, are logged as written; a clause form
// that might hide a password is refused; an account ALTER USER IF EXISTS skipped gets the hash
// of the statement's password.
func TestAccountBinlogText(t *testing.T) {
	db := mysql_db.CreateEmptyMySQLDb()
	ed := db.Editor()
	for _, u := range []*mysql_db.User{
		{User: "a", Host: "%", Plugin: "mysql_native_password", AuthString: "*0123ABCD"},
		{User: "b", Host: "h", Plugin: "caching_sha2_password", AuthString: "$A$005$x'y\\z\nq"},
		{User: "c", Host: "%", Plugin: "mysql_native_password", AuthString: ""},
	} {
		u.PrivilegeSet = mysql_db.NewPrivilegeSet()
		ed.PutUser(u)
	}
	ed.Close()
	b := accountLogBuilder{db: db, log: logrus.NewEntry(logrus.New())}
	key := func(user, host string) clauseOwner {
		return clauseOwner{key: mysql_db.UserPrimaryKey{User: user, Host: host}}
	}
	for _, tc := range []struct {
		name   string
		query  string
		owners []clauseOwner
		want   string
		errNum int
	}{
		{name: "by", query: "CREATE USER 'a'@'%' IDENTIFIED BY 'pw'", owners: []clauseOwner{key("a", "%")},
			want: "CREATE USER 'a'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'"},
		{name: "with plugin by, lower case, two accounts", query: "create user a identified with caching_sha2_password by \"p'w\", b@h identified by 'x' require none",
			owners: []clauseOwner{key("b", "h"), key("a", "%")},
			want:   "create user a IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x''y\\\\z\\nq', b@h IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD' require none"},
		{name: "account without a clause first", query: "CREATE USER c, a IDENTIFIED BY 'pw'", owners: []clauseOwner{key("a", "%")},
			want: "CREATE USER c, a IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'"},
		{name: "empty password", query: "ALTER USER c IDENTIFIED BY ''", owners: []clauseOwner{key("c", "%")},
			want: "ALTER USER c IDENTIFIED WITH 'mysql_native_password' AS ''"},
		{name: "already a hash", query: "CREATE USER a IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'", owners: []clauseOwner{key("a", "%")},
			want: "CREATE USER a IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'"},
		{name: "plugin only", query: "CREATE USER a IDENTIFIED WITH mysql_native_password", owners: []clauseOwner{key("a", "%")},
			want: "CREATE USER a IDENTIFIED WITH mysql_native_password"},
		{name: "no clause", query: "GRANT SELECT ON d.* TO a", want: "GRANT SELECT ON d.* TO a"},
		{name: "quoted word is not a clause", query: "GRANT SELECT ON `identified`.* TO a", want: "GRANT SELECT ON `identified`.* TO a"},
		{name: "IF EXISTS skipped the account: the statement's hash", query: "ALTER USER IF EXISTS zz IDENTIFIED BY 'pw'",
			owners: []clauseOwner{{key: mysql_db.UserPrimaryKey{User: "zz", Host: "%"}, auth: plan.AuthenticationMysqlNativePassword("pw")}},
			want:   "ALTER USER IF EXISTS zz IDENTIFIED WITH 'mysql_native_password' AS '*D821809F681A40A6E379B50D0463EFAE20BDD122'"},
		{name: "unknown form", query: "CREATE USER a IDENTIFIED BY PASSWORD '*AB'", owners: []clauseOwner{key("a", "%")}, errNum: erParseError},
		{name: "more clauses than accounts", query: "GRANT SELECT ON d.* TO a IDENTIFIED BY 'pw'", errNum: mysql.ERUnknownError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clauses, err := accountClauses(tc.query, tc.owners)
			if tc.errNum != 0 {
				var se *mysql.SQLError
				if se, _ = err.(*mysql.SQLError); se == nil || se.Num != tc.errNum {
					t.Fatalf("error %v, want %d", err, tc.errNum)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			text, err := b.binlogText(tc.query, clauses, tc.owners)
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.want {
				t.Fatalf("binlog text\n got  %q\n want %q", text, tc.want)
			}
		})
	}
}

// TestAccountStatementsGMSLacks: SET PASSWORD and RENAME USER run as in MySQL 8.0 (errors,
// privileges, one's own account) and reach the binlog, SET PASSWORD as ALTER USER with the hash;
// failed ones change and log nothing.
func TestAccountStatementsGMSLacks(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	for _, q := range []string{
		"CREATE USER 'u1'@'%' IDENTIFIED BY 'pw1'",
		"CREATE USER 'u2'@'%' IDENTIFIED BY 'pw2'",
		"GRANT SELECT ON *.* TO 'u2'@'%'",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	u1 := open(t, dsn(s, "u1", "pw1"))
	u1.SetMaxOpenConns(1)
	if err := u1.Ping(); err != nil { // the session stays open through the password changes
		t.Fatal(err)
	}
	for _, tc := range []struct {
		db      *gosql.DB
		query   string
		errNum  uint16
		binlog  string // what the binlog's last Query event starts with ("": unchanged)
		loginAs [2]string
	}{
		{db: root, query: "SET PASSWORD FOR 'u1'@'%' = 'pw1b'", binlog: "ALTER USER 'u1'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*", loginAs: [2]string{"u1", "pw1b"}},
		{db: u1, query: "SET PASSWORD = 'pw1c'", binlog: "ALTER USER 'u1'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*", loginAs: [2]string{"u1", "pw1c"}},
		{db: u1, query: "SET PASSWORD FOR 'u2'@'%' = 'x'", errNum: 1227},
		{db: root, query: "SET PASSWORD FOR 'u1'@'%' TO RANDOM", errNum: 1064},
		{db: root, query: "SET PASSWORD FOR 'u1'@'%' = 'a' REPLACE 'b'", errNum: 1064},
		{db: root, query: "SET PASSWORD FOR 'nobody'@'%' = 'x'", errNum: 1396},
		{db: root, query: "RENAME USER 'u2'@'%' TO 'u3'@'%'", binlog: "RENAME USER 'u2'@'%' TO 'u3'@'%'", loginAs: [2]string{"u3", "pw2"}},
		{db: root, query: "RENAME USER 'u3'@'%' TO 'u1'@'%'", errNum: 1396},
		{db: root, query: "RENAME USER 'nobody'@'%' TO 'u4'@'%'", errNum: 1396},
		{db: u1, query: "RENAME USER 'u3'@'%' TO 'u5'@'%'", errNum: 1227},
		{db: root, query: "RENAME USER 'u3'@'%' TO 'u4'@'%', 'u4'@'%' TO 'u5'@'%'", binlog: "RENAME USER 'u3'@'%' TO 'u4'@'%', 'u4'@'%' TO 'u5'@'%'", loginAs: [2]string{"u5", "pw2"}},
		// ALTER USER without an IDENTIFIED clause keeps the password (vitess hands GMS an
		// empty one).
		{db: root, query: "ALTER USER 'u5'@'%'", binlog: "ALTER USER 'u5'@'%'", loginAs: [2]string{"u5", "pw2"}},
		{db: u1, query: "ALTER USER 'u1'@'%'", binlog: "ALTER USER 'u1'@'%'", loginAs: [2]string{"u1", "pw1c"}},
	} {
		before := lastQueryEvent(t, root)
		_, err := tc.db.Exec(tc.query)
		if tc.errNum != 0 {
			if errNumber(err) != tc.errNum {
				t.Errorf("%s: %v, want %d", tc.query, err, tc.errNum)
			}
			if after := lastQueryEvent(t, root); after != before {
				t.Errorf("%s failed but logged %q", tc.query, after)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if got := lastQueryEvent(t, root); !strings.HasPrefix(got, tc.binlog) {
			t.Errorf("%s: binlog %q, want %q…", tc.query, got, tc.binlog)
		}
		if err := open(t, dsn(s, tc.loginAs[0], tc.loginAs[1])).Ping(); err != nil {
			t.Errorf("after %s: %s cannot log in: %v", tc.query, tc.loginAs[0], err)
		}
	}
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE user = 'u5'").Scan(&n); err != nil || n != 1 {
		t.Errorf("u5 rows %d (%v)", n, err)
	}
	if grants, err := root.Query("SHOW GRANTS FOR 'u5'@'%'"); err != nil {
		t.Errorf("SHOW GRANTS FOR the renamed account: %v", err)
	} else {
		var all []string
		for grants.Next() {
			var g string
			_ = grants.Scan(&g)
			all = append(all, g)
		}
		grants.Close()
		if !strings.Contains(strings.Join(all, ";"), "GRANT SELECT ON *.* TO `u5`@`%`") {
			t.Errorf("grants of the renamed account: %v", all)
		}
	}
}

// lastQueryEvent is the Info of the binlog's last Query event.
func lastQueryEvent(t *testing.T, db *gosql.DB) string {
	t.Helper()
	rows, err := db.Query("SHOW BINLOG EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	last := ""
	for rows.Next() {
		var file, typ, info string
		var pos, sid, end int64
		if err := rows.Scan(&file, &pos, &typ, &sid, &end, &info); err != nil {
			t.Fatal(err)
		}
		if typ == "Query" {
			last = info
		}
	}
	return last
}

// TestAccountStatementsMultiStatement: in a multi-statement query each account statement is
// logged alone, with its own text.
func TestAccountStatementsMultiStatement(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", "")+"&multiStatements=true")
	if _, err := db.Exec("CREATE USER 'm1'@'%' IDENTIFIED BY 'multi-pw'; GRANT SELECT ON *.* TO 'm1'@'%'; CREATE DATABASE md"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SHOW BINLOG EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var queries []string
	for rows.Next() {
		var file, typ, info string
		var pos, sid, end int64
		if err := rows.Scan(&file, &pos, &typ, &sid, &end, &info); err != nil {
			t.Fatal(err)
		}
		if typ == "Query" {
			queries = append(queries, info)
		}
	}
	if len(queries) != 3 || !strings.HasPrefix(queries[0], "CREATE USER 'm1'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*") ||
		strings.Contains(queries[0], ";") || queries[1] != "GRANT SELECT ON *.* TO 'm1'@'%'" || queries[2] != "CREATE DATABASE md" {
		t.Fatalf("Query events: %q", queries)
	}
}
