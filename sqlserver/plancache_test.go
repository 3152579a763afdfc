package sqlserver

import (
	gosql "database/sql"
	"sort"
	"strconv"
	"testing"
)

// TestPlanCacheAnswersRepeatedSelects: prepared and text point selects and ranges are answered
// from templates after the first executions (hits rise), and every answer is the right row.
func TestPlanCacheAnswersRepeatedSelects(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE pc", "USE pc",
		"CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20), KEY k_1 (k))")
	for i := 1; i <= 100; i++ {
		if _, err := db.Exec("INSERT INTO t VALUES (?, ?, ?)", i, i*10, "c"); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, db, "UPDATE t SET c = CONCAT('row', id)")

	point, err := db.Prepare("SELECT c FROM t WHERE id=?")
	if err != nil {
		t.Fatal(err)
	}
	defer point.Close()
	before := s.plans.hits.Load()
	for i := 1; i <= 100; i++ {
		var c string
		if err := point.QueryRow(i).Scan(&c); err != nil {
			t.Fatal(err)
		}
		if want := "row" + strconv.Itoa(i); c != want {
			t.Fatalf("id %d: c = %q, want %q", i, c, want)
		}
	}
	if err := point.QueryRow(1000).Scan(new(string)); err != gosql.ErrNoRows {
		t.Fatalf("missing id: %v, want no rows", err)
	}
	if got := s.plans.hits.Load() - before; got < 90 {
		t.Fatalf("prepared point select: %d of 101 executions answered from the cache, want ≥ 90", got)
	}

	sum, err := db.Prepare("SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ?")
	if err != nil {
		t.Fatal(err)
	}
	defer sum.Close()
	before = s.plans.hits.Load()
	for lo := 1; lo <= 50; lo++ {
		hi := lo + 9
		var got int64
		if err := sum.QueryRow(lo, hi).Scan(&got); err != nil {
			t.Fatal(err)
		}
		var want int64
		for i := lo; i <= hi; i++ {
			want += int64(i * 10)
		}
		if got != want {
			t.Fatalf("SUM(k) for %d..%d = %d, want %d", lo, hi, got, want)
		}
	}
	var crossed gosql.NullInt64
	if err := sum.QueryRow(20, 10).Scan(&crossed); err != nil || crossed.Valid {
		t.Fatalf("SUM(k) for 20..10 = %v, %v; want NULL", crossed, err)
	}
	if got := s.plans.hits.Load() - before; got < 40 {
		t.Fatalf("prepared range: %d of 51 executions answered from the cache, want ≥ 40", got)
	}

	order, err := db.Prepare("SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c DESC")
	if err != nil {
		t.Fatal(err)
	}
	defer order.Close()
	for lo := 1; lo <= 20; lo++ {
		rows, err := order.Query(lo, lo+2)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		want := []string{"row" + strconv.Itoa(lo), "row" + strconv.Itoa(lo+1), "row" + strconv.Itoa(lo+2)}
		sort.Sort(sort.Reverse(sort.StringSlice(want)))
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("ordered range %d..%d = %v, want %v", lo, lo+2, got, want)
		}
	}

	// The text protocol: the same shape with other literals.
	before = s.plans.hits.Load()
	for i := 1; i <= 30; i++ {
		var c string
		if err := db.QueryRow("SELECT c FROM t WHERE id = " + strconv.Itoa(i)).Scan(&c); err != nil {
			t.Fatal(err)
		}
		if c != "row"+strconv.Itoa(i) {
			t.Fatalf("text id %d: %q", i, c)
		}
	}
	if got := s.plans.hits.Load() - before; got < 25 {
		t.Fatalf("text point select: %d of 30 answered from the cache, want ≥ 25", got)
	}
}

// TestPlanCacheFollowsDDLAndPrivileges: a cached shape never outlives the index it reads or
// the privilege that allowed it, and a changed column type is another shape.
func TestPlanCacheFollowsDDLAndPrivileges(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	mustExec(t, root, "CREATE DATABASE pc",
		"CREATE TABLE pc.t (id INT PRIMARY KEY, k INT NOT NULL, UNIQUE KEY k_1 (k))",
		"INSERT INTO pc.t VALUES (1, 10), (2, 20), (3, 30), (4, 40)",
		"CREATE USER u@'%'", "GRANT SELECT ON pc.* TO u@'%'")
	db := open(t, dsn(s, "u", ""))
	db.SetMaxOpenConns(1)
	byK, err := db.Prepare("SELECT id FROM pc.t WHERE k=?")
	if err != nil {
		t.Fatal(err)
	}
	defer byK.Close()
	check := func(k, want int) {
		t.Helper()
		var id int
		if err := byK.QueryRow(k).Scan(&id); err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if id != want {
			t.Fatalf("k=%d: id %d, want %d", k, id, want)
		}
	}
	for i := 0; i < 3; i++ {
		check(10, 1)
		check(20, 2)
	}
	before := s.plans.hits.Load()
	check(30, 3)
	if s.plans.hits.Load() == before {
		t.Fatal("the lookup by k was not answered from the cache")
	}

	// The index goes: the answer must still be right (GMS scans), not read a dropped index.
	mustExec(t, root, "ALTER TABLE pc.t DROP INDEX k_1")
	check(40, 4)
	check(10, 1)
	// An index of that name on another column: still the right rows.
	mustExec(t, root, "ALTER TABLE pc.t ADD UNIQUE KEY k_1 (id)")
	check(20, 2)
	check(30, 3)

	// Privileges are checked at binding, before the cache: a revoked SELECT is refused.
	mustExec(t, root, "REVOKE SELECT ON pc.* FROM u@'%'")
	if err := byK.QueryRow(10).Scan(new(int)); errNumber(err) != 1044 {
		t.Fatalf("after REVOKE: %v, want error 1044", err)
	}
}
