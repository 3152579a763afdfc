package storage

// Regression tests for the defects of issue #11, at the engine level (the
// same behaviours are tested over the wire in integration/).

import (
	"fmt"
	"strings"
	"testing"
)

func TestTriggerCallsWritingProcedure(t *testing.T) {
	runScripts(t, []script{{"trig", []scriptStep{
		{sql: "create table log (x int)"},
		{sql: "create procedure wr(x int) insert into log values (x)"},
		{sql: "create table tt (a int)"},
		{sql: "create trigger trg after insert on tt for each row call wr(new.a)"},
		{sql: "insert into tt values (5)"},
		{sql: "select * from tt", rows: "[[5]]"},
		{sql: "select * from log", rows: "[[5]]"},
		{sql: "begin"},
		{sql: "insert into log values (6)"},
		{sql: "call wr(7)"},
		{sql: "select * from log", rows: "[[5] [6] [7]]"},
		{sql: "rollback"},
		{sql: "select * from log", rows: "[[5]]"},
		{sql: "call wr(8)"},
		{sql: "select * from log", rows: "[[5] [8]]"},
		{sql: "begin"},
		{sql: "call wr(9)"},
		{sql: "commit"},
		{sql: "select * from log", rows: "[[5] [8] [9]]"},
	}}})
}

func TestMultiTableUpdateOncePerRow(t *testing.T) {
	runScripts(t, []script{{"uj", []scriptStep{
		{sql: "create table p (id int primary key, v int)"},
		{sql: "create table q (id int primary key)"},
		{sql: "insert into p values (1,0),(2,0),(3,0)"},
		{sql: "insert into q values (1),(2),(3)"},
		{sql: "update p cross join q set p.v=p.v+1", rows: "[[{Rows matched: 3  Changed: 3  Warnings: 0 3 0}]]"},
		{sql: "select * from p", rows: "[[1 1] [2 1] [3 1]]"},
		{sql: "create table ai (v int)"},
		{sql: "insert into ai values (10),(20),(30)"},
		{sql: "alter table ai add column id int auto_increment primary key"},
		{sql: "select * from ai", rows: "[[10 1] [20 2] [30 3]]"},
		{sql: "create table s (id int primary key, parent int, foreign key (parent) references s(id))"},
		{sql: "insert into s values (1, null), (2, 1), (3, 2)"},
		{sql: "select * from s", rows: "[[1 <nil>] [2 1] [3 2]]"},
	}}})
}

func TestViewReadKeepsTransaction(t *testing.T) {
	runScripts(t, []script{{"v", []scriptStep{
		{sql: "create table q (id int primary key)"},
		{sql: "create view vv as select * from q"},
		{sql: "begin"},
		{sql: "insert into q values (9)"},
		{sql: "select * from vv", rows: "[[9]]"},
		{sql: "rollback"},
		{sql: "select * from q", rows: "[]"},
	}}})
}

func TestVectorIndexAccepted(t *testing.T) {
	runScripts(t, []script{{"v", []scriptStep{
		{sql: "CREATE TABLE vt (pk BIGINT PRIMARY KEY, v1 BIGINT, json_column JSON NOT NULL, vector_column VECTOR(2) NOT NULL GENERATED ALWAYS AS (STRING_TO_VECTOR(json_column)) STORED)"},
		{sql: `INSERT INTO vt (pk, v1, json_column) VALUES (0,0,"[3,16]"),(1,2,"[65,9]"),(2,3,"[38,37]")`},
		{sql: "create VECTOR INDEX v_idx_json on vt (json_column)"},
		{sql: "create VECTOR INDEX v_idx_vec on vt (vector_column)"},
		{sql: `INSERT INTO vt (pk, v1, json_column) VALUES (4,0,"[3,17]")`},
		{sql: `select pk from vt order by vec_distance(vector_column, string_to_vector('[3,16]')) limit 2`, rows: "[[0] [4]]"},
		{sql: `select pk from vt where json_column = CAST('[3,17]' AS JSON)`, rows: "[[4]]"},
		{sql: "show create table vt"},
	}}})
}

func TestIsolationLevels(t *testing.T) {
	h := newHarness(t)
	a, b := h.conn(), h.conn()
	a.mustExec("create database d")
	a.mustExec("use d")
	b.mustExec("use d")
	a.mustExec("create table t (id int primary key)")
	a.mustExec("set session transaction isolation level read committed")
	if got := a.mustExec("select @@transaction_isolation"); fmt.Sprint(got) != "[[READ-COMMITTED]]" {
		t.Fatalf("isolation %v", got)
	}
	a.mustExec("begin")
	a.mustExec("select * from t")
	b.mustExec("insert into t values (1)")
	if got := a.mustExec("select * from t"); len(got) != 1 {
		t.Fatalf("rc: %v", got)
	}
	a.mustExec("commit")
	a.mustExec("set session transaction isolation level repeatable read")
	a.mustExec("begin")
	a.mustExec("select * from t")
	b.mustExec("insert into t values (2)")
	if got := a.mustExec("select * from t"); len(got) != 1 {
		t.Fatalf("rr: %v", got)
	}
	a.mustExec("commit")
	a.mustExec("start transaction read only")
	if _, err := a.query("insert into t values (3)"); err == nil {
		t.Fatal("read only accepted insert")
	} else {
		if !strings.Contains(err.Error(), "READ ONLY") {
			t.Fatal(err)
		}
	}
	a.mustExec("commit")
}

func TestNestedProcedureTrigger(t *testing.T) {
	runScripts(t, []script{{"n", []scriptStep{
		{sql: "CREATE TABLE t0 (id INT PRIMARY KEY AUTO_INCREMENT, v1 INT, v2 TEXT)"},
		{sql: "CREATE TABLE t1 (id INT PRIMARY KEY AUTO_INCREMENT, v1 INT, v2 TEXT)"},
		{sql: "CREATE PROCEDURE add_entry(i INT, s TEXT) INSERT INTO t0 (v1, v2) VALUES (i, s)"},
		{sql: "CREATE PROCEDURE back_up(num INT, msg TEXT) INSERT INTO t1 (v1, v2) VALUES (num*2, msg)"},
		{sql: "CREATE TRIGGER trig AFTER INSERT ON t0 FOR EACH ROW BEGIN CALL back_up(NEW.v1, NEW.v2); END"},
		{sql: "CALL add_entry(4, 'aaa')"},
		{sql: "SELECT * FROM t0", rows: "[[1 4 aaa]]"},
		{sql: "SELECT * FROM t1", rows: "[[1 8 aaa]]"},
	}}})
}
