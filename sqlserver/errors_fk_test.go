package sqlserver

import (
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestForeignKeyErrors checks that foreign-key violations reach the client as MySQL's 1451
// and 1452 with SQLSTATE 23000 and InnoDB's description of the key, for keys in the same
// database and in another one, with and without referential actions, through both the text
// and the binary protocol; and that a parent row referenced from another database cannot be
// deleted (MySQL checks those children too).
func TestForeignKeyErrors(t *testing.T) {
	s, _ := startServer(t, Config{Port: 0})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE DATABASE fkd", "CREATE DATABASE fke", "USE fkd",
		"CREATE TABLE p (id int PRIMARY KEY, a int, b int, UNIQUE KEY (a, b))",
		"CREATE TABLE c (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
		"CREATE TABLE r (id int PRIMARY KEY, pid int, CONSTRAINT `r``q` FOREIGN KEY (pid) REFERENCES p (id) ON DELETE RESTRICT)",
		"CREATE TABLE fke.c2 (x int, y int, CONSTRAINT fkx FOREIGN KEY (x, y) REFERENCES fkd.p (a, b) ON UPDATE SET NULL ON DELETE NO ACTION)",
		"INSERT INTO p VALUES (1, 1, 2), (2, 3, 4)",
		"INSERT INTO fke.c2 VALUES (1, 2)",
		"INSERT INTO r VALUES (1, 2)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cases := []struct {
		query string
		args  []any
		num   uint16
		text  string
	}{
		{"INSERT INTO c VALUES (1, 9)", nil, 1452,
			"Cannot add or update a child row: a foreign key constraint fails (`fkd`.`c`, CONSTRAINT `c_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE)"},
		{"INSERT INTO c VALUES (?, ?)", []any{1, 9}, 1452,
			"Cannot add or update a child row: a foreign key constraint fails (`fkd`.`c`, CONSTRAINT `c_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE)"},
		{"INSERT INTO fke.c2 VALUES (5, 6)", nil, 1452,
			"Cannot add or update a child row: a foreign key constraint fails (`fke`.`c2`, CONSTRAINT `fkx` FOREIGN KEY (`x`, `y`) REFERENCES `fkd`.`p` (`a`, `b`) ON DELETE NO ACTION ON UPDATE SET NULL)"},
		{"DELETE FROM p WHERE id = 1", nil, 1451,
			"Cannot delete or update a parent row: a foreign key constraint fails (`fke`.`c2`, CONSTRAINT `fkx` FOREIGN KEY (`x`, `y`) REFERENCES `fkd`.`p` (`a`, `b`) ON DELETE NO ACTION ON UPDATE SET NULL)"},
		{"DELETE FROM p WHERE id = ?", []any{2}, 1451,
			"Cannot delete or update a parent row: a foreign key constraint fails (`fkd`.`r`, CONSTRAINT `r``q` FOREIGN KEY (`pid`) REFERENCES `p` (`id`))"},
		{"UPDATE r SET pid = 7", nil, 1452,
			"Cannot add or update a child row: a foreign key constraint fails (`fkd`.`r`, CONSTRAINT `r``q` FOREIGN KEY (`pid`) REFERENCES `p` (`id`))"},
	}
	for _, c := range cases {
		_, err := db.Exec(c.query, c.args...)
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			t.Errorf("%s %v: error %v, want %d", c.query, c.args, err, c.num)
			continue
		}
		if me.Number != c.num || string(me.SQLState[:]) != "23000" || me.Message != c.text {
			t.Errorf("%s %v:\n got %d (%s) %q\nwant %d (23000) %q", c.query, c.args, me.Number, me.SQLState[:], me.Message, c.num, c.text)
		}
	}
	// Nothing the failed statements touched changed; the cross-database child still holds
	// its parent, and ON UPDATE SET NULL reaches it from the parent's database.
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM p").Scan(&n); err != nil || n != 2 {
		t.Fatalf("parents: %d, %v; want 2", n, err)
	}
	if _, err := db.Exec("UPDATE p SET a = 10 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var x, y *int
	if err := db.QueryRow("SELECT x, y FROM fke.c2").Scan(&x, &y); err != nil || x != nil || y != nil {
		t.Fatalf("fke.c2 after the parent's update: %v %v %v; want NULL NULL", x, y, err)
	}
}
