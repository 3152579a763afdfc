package sqlserver

import (
	gosql "database/sql"
	"testing"
)

// TestShowCreateUser: SHOW CREATE USER gives MySQL 8.0's column name and statement for an
// account, CURRENT_USER and a bare user name (host '%'); any account sees its own, another's
// needs SELECT on mysql (1044); an unknown account is 1396. The statement it prints makes the
// same account again: after DROP USER, running it restores the login.
func TestShowCreateUser(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	for _, q := range []string{
		"CREATE USER 'u'@'%' IDENTIFIED BY 'pw'",
		"CREATE USER 'v'@'%' IDENTIFIED BY 'pw2'",
		"ALTER USER 'u'@'%' REQUIRE SSL",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const tail = " PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT"
	v := open(t, dsn(s, "v", "pw2"))
	cases := []struct {
		db     *gosql.DB
		query  string
		column string
		want   string
		errNum uint16
	}{
		{db: root, query: "SHOW CREATE USER 'u'@'%'", column: "CREATE USER for u@%",
			want: "CREATE USER `u`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*D821809F681A40A6E379B50D0463EFAE20BDD122' REQUIRE SSL" + tail},
		{db: root, query: "SHOW CREATE USER v", column: "CREATE USER for v@%",
			want: "CREATE USER `v`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*B27918D2D9402882CEADA0EF687D35FBDC137D72' REQUIRE NONE" + tail},
		{db: root, query: "SHOW CREATE USER CURRENT_USER()", column: "CREATE USER for root@localhost",
			want: "CREATE USER `root`@`localhost` IDENTIFIED WITH 'mysql_native_password' REQUIRE NONE" + tail},
		{db: v, query: "SHOW CREATE USER CURRENT_USER", column: "CREATE USER for v@%",
			want: "CREATE USER `v`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*B27918D2D9402882CEADA0EF687D35FBDC137D72' REQUIRE NONE" + tail},
		{db: v, query: "SHOW CREATE USER 'u'@'%'", errNum: 1044},
		{db: root, query: "SHOW CREATE USER nobody@localhost", errNum: 1396},
	}
	for _, c := range cases {
		rows, err := c.db.Query(c.query)
		if c.errNum != 0 {
			if errNumber(err) != c.errNum {
				t.Errorf("%s: %v, want %d", c.query, err, c.errNum)
			}
			if rows != nil {
				rows.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		cols, _ := rows.Columns()
		var got string
		if rows.Next() {
			_ = rows.Scan(&got)
		}
		rows.Close()
		if len(cols) != 1 || cols[0] != c.column || got != c.want {
			t.Errorf("%s:\n got %v %q\nwant [%s] %q", c.query, cols, got, c.column, c.want)
		}
	}
	// The printed statement recreates the account with its password.
	var stmt string
	if err := root.QueryRow("SHOW CREATE USER v").Scan(&stmt); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP USER v", stmt} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := open(t, dsn(s, "v", "pw2")).Ping(); err != nil {
		t.Fatalf("v after recreating it from SHOW CREATE USER: %v", err)
	}
}
