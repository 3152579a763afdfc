package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"

	"github.com/semisyncd/semisyncd/internal/mariadbd"
	"github.com/semisyncd/semisyncd/semisynctest"
)

// target is one primary with its semi-sync replica(s), ready for sysbench.
type target struct {
	// name labels the target in the table and plot: "semisyncd" or "mariadb".
	name string
	host string
	port int
	user string
	// prefix is the status variables' prefix: Rpl_semi_sync_source_ (MySQL 8.0 names) or
	// Rpl_semi_sync_master_ (MariaDB's).
	prefix     string
	enabledVar string // rpl_semi_sync_source_enabled or rpl_semi_sync_master_enabled
	db         *sql.DB
	close      func()
	// caughtUp reports whether every replica has applied all the primary committed.
	caughtUp func(ctx context.Context) (bool, error)
}

// catchUpLimit bounds the wait for the replicas after a run.
const catchUpLimit = 120 * time.Second

// waitCaughtUp waits until t's replicas applied everything its primary committed and returns
// how long that took after the run; an error when they are not caught up within catchUpLimit.
func (t *target) waitCaughtUp(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	for {
		ok, err := t.caughtUp(ctx)
		if err != nil {
			return 0, err
		}
		if ok {
			return time.Since(start), nil
		}
		if time.Since(start) > catchUpLimit {
			return 0, fmt.Errorf("replicas not caught up %v after the run", catchUpLimit)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitReady bounds waits for semi-sync to come ON after a mode change.
const waitReady = 30 * time.Second

func openDB(host string, port int, user string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = user, "tcp", fmt.Sprintf("%s:%d", host, port)
	cfg.Timeout = 5 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(2)
	return db, nil
}

// startSemisyncd starts a semisyncd primary with replicas semisyncd semi-sync replicas through
// the semisynctest kit (AFTER_SYNC, sync_binlog=1 as semisyncd's default), and creates sbtest.
// bin is the semisyncd executable of every server ("": the kit's), name the target's label.
func startSemisyncd(log *logrus.Entry, replicas int, bin, name string) (*target, error) {
	tb := newRunTB(log)
	var c *semisynctest.Cluster
	if err := kitCall(func() {
		c = semisynctest.Start(tb, semisynctest.Options{Replicas: replicas, WaitPoint: "AFTER_SYNC", Timeout: 10 * time.Second, Binary: bin, DirectLink: true})
	}); err != nil {
		tb.close()
		return nil, err
	}
	host, portText, _ := strings.Cut(c.Primary.Addr(), ":")
	port, _ := strconv.Atoi(portText)
	db, err := openDB(host, port, "root")
	if err != nil {
		tb.close()
		return nil, err
	}
	t := &target{name: name, host: host, port: port, user: "root", prefix: "Rpl_semi_sync_source_",
		enabledVar: "rpl_semi_sync_source_enabled", db: db}
	var rdbs []*sql.DB
	for _, r := range c.Replicas {
		rdb, err := sql.Open("mysql", r.DSN(""))
		if err != nil {
			db.Close()
			tb.close()
			return nil, err
		}
		rdbs = append(rdbs, rdb)
	}
	t.close = func() {
		for _, r := range rdbs {
			r.Close()
		}
		db.Close()
		tb.close()
	}
	t.caughtUp = func(ctx context.Context) (bool, error) {
		var executed string
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&executed); err != nil {
			return false, err
		}
		for _, r := range rdbs {
			var in bool
			if err := r.QueryRowContext(ctx, "SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", executed).Scan(&in); err != nil {
				return false, err
			}
			if !in {
				return false, nil
			}
		}
		return true, nil
	}
	if _, err := db.Exec("CREATE DATABASE sbtest"); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// startMariaDB starts a MariaDB primary (row binlog, sync_binlog=1,
// innodb_flush_log_at_trx_commit=1, AFTER_SYNC) with one MariaDB semi-sync replica, an account
// bench@'%' without password, and sbtest.
func startMariaDB(log *logrus.Entry) (*target, error) {
	var servers []*mariadbd.Server
	var dirs []string
	cleanup := func() {
		for _, s := range servers {
			s.Stop()
		}
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}
	start := func(id int, conf ...string) (*mariadbd.Server, error) {
		dir, err := os.MkdirTemp("", "semisync-bench-mariadb")
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, dir)
		port, err := mariadbd.FreePort()
		if err != nil {
			return nil, err
		}
		s, err := mariadbd.Start(dir, port, id, conf...)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
		return s, nil
	}
	fail := func(err error) (*target, error) { cleanup(); return nil, err }
	p, err := start(1, "log_bin=binlog", "binlog_format=ROW", "sync_binlog=1", "innodb_flush_log_at_trx_commit=1",
		"innodb_buffer_pool_size=256M", "max_connections=300",
		"rpl_semi_sync_master_enabled=ON", "rpl_semi_sync_master_wait_point=AFTER_SYNC", "rpl_semi_sync_master_timeout=10000")
	if err != nil {
		return fail(err)
	}
	r, err := start(2, "rpl_semi_sync_slave_enabled=ON", "innodb_buffer_pool_size=256M")
	if err != nil {
		return fail(err)
	}
	if _, err := p.Query("CREATE USER 'bench'@'%'; GRANT ALL ON *.* TO 'bench'@'%'"); err != nil {
		return fail(err)
	}
	if _, err := r.Query(fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='bench', MASTER_PASSWORD='', "+
		"MASTER_USE_GTID=no, MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4; START SLAVE", p.Port)); err != nil {
		return fail(err)
	}
	db, err := openDB("127.0.0.1", p.Port, "bench")
	if err != nil {
		return fail(err)
	}
	t := &target{name: "mariadb", host: "127.0.0.1", port: p.Port, user: "bench", prefix: "Rpl_semi_sync_master_",
		enabledVar: "rpl_semi_sync_master_enabled", db: db}
	// The replica is polled over SQL as bench@'%' (the account replicates from the primary
	// long before the first run ends): a client process per poll would take CPU from the
	// replica it waits for.
	rdb, err := openDB("127.0.0.1", r.Port, "bench")
	if err != nil {
		db.Close()
		return fail(err)
	}
	t.close = func() { rdb.Close(); db.Close(); cleanup() }
	t.caughtUp = func(ctx context.Context) (bool, error) {
		// MariaDB's replica records the source's GTIDs in gtid_slave_pos without
		// MASTER_USE_GTID too.
		var want, got string
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&want); err != nil {
			return false, err
		}
		if err := rdb.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_slave_pos").Scan(&got); err != nil {
			return false, err
		}
		return got == want, nil
	}
	if err := t.waitStatus(context.Background(), "clients", "1"); err != nil {
		t.close()
		return nil, err
	}
	if _, err := db.Exec("CREATE DATABASE sbtest"); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// counters are the primary's semi-sync status variables at one moment.
type counters struct {
	On                                                 bool
	Clients, YesTx, NoTx, NoTimes, TxWaits, TxWaitTime int64
}

func (t *target) counters(ctx context.Context) (counters, error) {
	rows, err := t.db.QueryContext(ctx, "SHOW GLOBAL STATUS LIKE '"+t.prefix+"%'")
	if err != nil {
		return counters{}, fmt.Errorf("%s: SHOW GLOBAL STATUS: %w", t.name, err)
	}
	defer rows.Close()
	raw := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return counters{}, err
		}
		raw[strings.TrimPrefix(strings.ToLower(k), strings.ToLower(t.prefix))] = v
	}
	if err := rows.Err(); err != nil {
		return counters{}, err
	}
	c := counters{On: raw["status"] == "ON"}
	for name, f := range map[string]*int64{"clients": &c.Clients, "yes_tx": &c.YesTx, "no_tx": &c.NoTx,
		"no_times": &c.NoTimes, "tx_waits": &c.TxWaits, "tx_wait_time": &c.TxWaitTime} {
		v, ok := raw[name]
		if !ok {
			return counters{}, fmt.Errorf("%s: no status variable %s%s", t.name, t.prefix, name)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return counters{}, fmt.Errorf("%s: %s%s = %q", t.name, t.prefix, name, v)
		}
		*f = n
	}
	return c, nil
}

// waitStatus polls until the status variable prefix+name reads want, up to waitReady.
func (t *target) waitStatus(ctx context.Context, name, want string) error {
	deadline := time.Now().Add(waitReady)
	var got string
	for {
		var k string
		err := t.db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE '"+t.prefix+name+"'").Scan(&k, &got)
		if err == nil && got == want {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s%s is %q after %v, want %q (%v)", t.name, t.prefix, name, got, waitReady, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setMode switches the primary between async (semi-sync source side OFF) and semi-sync with
// waitCount ACKs; for semi-sync it returns once the status is ON.
func (t *target) setMode(ctx context.Context, semi bool, waitCount int) error {
	if !semi {
		_, err := t.db.ExecContext(ctx, "SET GLOBAL "+t.enabledVar+" = OFF")
		return err
	}
	if waitCount > 0 {
		if _, err := t.db.ExecContext(ctx, "SET GLOBAL rpl_semi_sync_source_wait_for_replica_count = "+strconv.Itoa(waitCount)); err != nil {
			return err
		}
	}
	if _, err := t.db.ExecContext(ctx, "SET GLOBAL "+t.enabledVar+" = ON"); err != nil {
		return err
	}
	return t.waitStatus(ctx, "status", "ON")
}
