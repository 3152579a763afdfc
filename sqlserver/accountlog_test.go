package sqlserver

import (
	"testing"

	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

// TestAccountBinlogText: each clear-text password of an account statement is replaced by its
// account's stored plugin and authentication string (quoted so it reads back byte for byte);
// other IDENTIFIED forms, and statements without one, are logged as written; a clause form
// that might hide a password is refused; an account skipped by IF [NOT] EXISTS is not logged.
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
	key := func(user, host string) mysql_db.UserPrimaryKey {
		return mysql_db.UserPrimaryKey{User: user, Host: host}
	}
	for _, tc := range []struct {
		name   string
		query  string
		owners []mysql_db.UserPrimaryKey
		want   string // "" with skip: not logged
		skip   bool
		errNum int
	}{
		{name: "by", query: "CREATE USER 'a'@'%' IDENTIFIED BY 'pw'", owners: []mysql_db.UserPrimaryKey{key("a", "%")},
			want: "CREATE USER 'a'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'"},
		{name: "with plugin by, lower case, two accounts", query: "create user a identified with caching_sha2_password by \"p'w\", b@h identified by 'x' require none",
			owners: []mysql_db.UserPrimaryKey{key("b", "h"), key("a", "%")},
			want:   "create user a IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x''y\\\\z\\nq', b@h IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD' require none"},
		{name: "account without a clause first", query: "CREATE USER c, a IDENTIFIED BY 'pw'", owners: []mysql_db.UserPrimaryKey{key("a", "%")},
			want: "CREATE USER c, a IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'"},
		{name: "empty password", query: "ALTER USER c IDENTIFIED BY ''", owners: []mysql_db.UserPrimaryKey{key("c", "%")},
			want: "ALTER USER c IDENTIFIED WITH 'mysql_native_password' AS ''"},
		{name: "already a hash", query: "CREATE USER a IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'", owners: []mysql_db.UserPrimaryKey{key("a", "%")},
			want: "CREATE USER a IDENTIFIED WITH 'mysql_native_password' AS '*0123ABCD'"},
		{name: "plugin only", query: "CREATE USER a IDENTIFIED WITH mysql_native_password", owners: []mysql_db.UserPrimaryKey{key("a", "%")},
			want: "CREATE USER a IDENTIFIED WITH mysql_native_password"},
		{name: "no clause", query: "GRANT SELECT ON d.* TO a", want: "GRANT SELECT ON d.* TO a"},
		{name: "quoted word is not a clause", query: "GRANT SELECT ON `identified`.* TO a", want: "GRANT SELECT ON `identified`.* TO a"},
		{name: "IF EXISTS skipped the account", query: "ALTER USER IF EXISTS zz IDENTIFIED BY 'pw'", owners: []mysql_db.UserPrimaryKey{key("zz", "%")}, skip: true},
		{name: "unknown form", query: "CREATE USER a IDENTIFIED BY PASSWORD '*AB'", owners: []mysql_db.UserPrimaryKey{key("a", "%")}, errNum: erParseError},
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
			text, logged := b.binlogText(tc.query, clauses, tc.owners)
			if logged == tc.skip {
				t.Fatalf("logged = %v, want %v", logged, !tc.skip)
			}
			if text != tc.want {
				t.Fatalf("binlog text\n got  %q\n want %q", text, tc.want)
			}
		})
	}
}
