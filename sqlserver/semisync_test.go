package sqlserver

import (
	"context"
	gosql "database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/semisyncd/semisyncd/storage"
	"github.com/semisyncd/semisyncd/sysvars"
)

// mustExec runs statements on db and fails the test on the first error.
func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (gosql.Result, error)
}, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// statusValues returns SHOW GLOBAL STATUS LIKE pattern as a map.
func statusValues(t *testing.T, db *gosql.DB, pattern string) map[string]string {
	t.Helper()
	rows, err := db.Query("SHOW GLOBAL STATUS LIKE '" + pattern + "'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		out[n] = v
	}
	return out
}

// TestSemisyncRuntimeAPI is the runtime's view: SET GLOBAL over the wire reaches the Config
// atomics and the subscribers; counters the runtime sets show in SHOW STATUS, averages
// computed; FLUSH STATUS resets exactly MySQL's five; INSTALL zeroes yes_tx and no_tx.
func TestSemisyncRuntimeAPI(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	ss := s.SemisyncState()

	var mu sync.Mutex
	var events []sysvars.Event
	defer ss.Subscribe(func(e sysvars.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	})()

	mustExec(t, db,
		"INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'",
		"SET GLOBAL rpl_semi_sync_master_enabled = ON",
		"SET GLOBAL rpl_semi_sync_master_enabled = 1", // unchanged: an event all the same (MySQL runs the update)
		"SET GLOBAL rpl_semi_sync_master_wait_for_slave_count = 2",
		"SET GLOBAL rpl_semi_sync_master_timeout = 250",
		"SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_COMMIT",
		"SET GLOBAL rpl_semi_sync_master_wait_no_slave = OFF",
		"SET GLOBAL rpl_semi_sync_master_trace_level = 80",
	)
	c := &ss.Source.Config
	if !c.Enabled.Load() || c.WaitForReplicaCount.Load() != 2 || c.TimeoutMillis.Load() != 250 ||
		c.WaitPoint.Load() != sysvars.WaitAfterCommit || c.WaitNoReplica.Load() || c.TraceLevel.Load() != 80 {
		t.Fatalf("config: enabled %v count %d timeout %d point %d wait_no_replica %v trace %d", c.Enabled.Load(),
			c.WaitForReplicaCount.Load(), c.TimeoutMillis.Load(), c.WaitPoint.Load(), c.WaitNoReplica.Load(), c.TraceLevel.Load())
	}
	m := sysvars.FamilyMaster
	want := []sysvars.Event{
		{Kind: sysvars.Installed, Family: m},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceEnabled},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceEnabled},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceWaitForReplicaCount},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceTimeout},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceWaitPoint},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceWaitNoReplica},
		{Kind: sysvars.VarChanged, Family: m, Var: sysvars.SourceTraceLevel},
	}
	mu.Lock()
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events\n%+v\nwant\n%+v", events, want)
	}
	mu.Unlock()

	// The server's source runtime copies its own counters in at every read; this test sets
	// them itself, as a runtime without a refresh function would.
	ss.SetStatusRefresh(nil)
	st := &ss.Source.Status
	st.Status.Store(true)
	st.Clients.Store(2)
	st.YesTx.Store(30)
	st.NoTx.Store(4)
	st.NoTimes.Store(3)
	st.TimefuncFailures.Store(1)
	st.WaitPosBacktraverse.Store(5)
	st.TxWaits.Store(28)
	st.TxWaitTime.Store(3315)
	st.NetWaits.Store(30)
	st.WaitSessions.Store(1)
	got := statusValues(t, db, "Rpl_semi_sync_master%")
	wantStatus := map[string]string{
		"Rpl_semi_sync_master_status": "ON", "Rpl_semi_sync_master_clients": "2", "Rpl_semi_sync_master_yes_tx": "30",
		"Rpl_semi_sync_master_no_tx": "4", "Rpl_semi_sync_master_no_times": "3", "Rpl_semi_sync_master_timefunc_failures": "1",
		"Rpl_semi_sync_master_wait_pos_backtraverse": "5", "Rpl_semi_sync_master_tx_waits": "28",
		"Rpl_semi_sync_master_tx_wait_time": "3315", "Rpl_semi_sync_master_tx_avg_wait_time": "118", // as in the MariaDB lab
		"Rpl_semi_sync_master_net_waits": "30", "Rpl_semi_sync_master_net_wait_time": "0", "Rpl_semi_sync_master_net_avg_wait_time": "0",
		"Rpl_semi_sync_master_wait_sessions": "1",
	}
	if !reflect.DeepEqual(got, wantStatus) {
		t.Fatalf("status\n%v\nwant\n%v", got, wantStatus)
	}

	mustExec(t, db, "FLUSH STATUS")
	for name, v := range map[string]string{"yes_tx": "0", "no_tx": "0", "no_times": "0", "timefunc_failures": "0", "wait_pos_backtraverse": "0"} {
		wantStatus["Rpl_semi_sync_master_"+name] = v
	}
	if got := statusValues(t, db, "Rpl_semi_sync_master%"); !reflect.DeepEqual(got, wantStatus) {
		t.Fatalf("after FLUSH STATUS\n%v\nwant\n%v", got, wantStatus)
	}

	// Reinstalling zeroes yes_tx and no_tx only (semi_sync_master_plugin_init).
	st.Clients.Store(0)
	st.YesTx.Store(7)
	st.NoTx.Store(8)
	st.NoTimes.Store(9)
	mustExec(t, db, "UNINSTALL PLUGIN rpl_semi_sync_master", "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	if st.YesTx.Load() != 0 || st.NoTx.Load() != 0 || st.NoTimes.Load() != 9 {
		t.Fatalf("after reinstall yes %d no %d no_times %d", st.YesTx.Load(), st.NoTx.Load(), st.NoTimes.Load())
	}
	if c.Enabled.Load() || c.TimeoutMillis.Load() != 10000 {
		t.Fatal("the new family did not start from the defaults")
	}
}

// inUse is a plugins.InUseChecker the test drives.
type inUse struct{ source, replica bool }

func (u *inUse) InUse(r sysvars.Role) bool {
	if r == sysvars.RoleReplica {
		return u.replica
	}
	return u.source
}

// TestUninstallInUse: the runtime's in-use check refuses UNINSTALL with MySQL's 1883 over the
// wire, and the variables stay.
func TestUninstallInUse(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'", "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'")
	busy := &inUse{source: true, replica: true}
	s.Plugins().SetInUseChecker(busy)
	for q, msg := range map[string]string{
		"UNINSTALL PLUGIN rpl_semi_sync_source":  "Plugin 'rpl_semi_sync_source' cannot be uninstalled now. Stop any active semisynchronous replicas of this source first.",
		"UNINSTALL PLUGIN rpl_semi_sync_replica": "Plugin 'rpl_semi_sync_replica' cannot be uninstalled now. Stop any active semisynchronous I/O threads on this replica first.",
	} {
		_, err := db.Exec(q)
		if errNumber(err) != 1883 || !strings.HasSuffix(err.Error(), msg) {
			t.Errorf("%s: %v, want 1883 %q", q, err, msg)
		}
	}
	var v string
	if err := db.QueryRow("SELECT @@global.rpl_semi_sync_source_timeout").Scan(&v); err != nil || v != "10000" {
		t.Fatalf("variable after refused UNINSTALL: %q %v", v, err)
	}
	busy.source, busy.replica = false, false
	mustExec(t, db, "UNINSTALL PLUGIN rpl_semi_sync_source", "UNINSTALL PLUGIN rpl_semi_sync_replica")
}

// TestStrictAllTablesRefusesClamping: with STRICT_ALL_TABLES, a value MySQL would clamp is
// refused with 1231 (throw_bounds_warning); otherwise clamped with warning 1292, and the next
// statement starts without it.
func TestStrictAllTablesRefusesClamping(t *testing.T) {
	s, _ := startServer(t, Config{})
	conn, err := open(t, dsn(s, "root", "")).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	mustExec(t, conn, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	mustExec(t, conn, "SET GLOBAL rpl_semi_sync_source_wait_for_replica_count = 0")
	warnings := func() []string {
		rows, err := conn.QueryContext(ctx, "SHOW WARNINGS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var level, code, msg string
			if err := rows.Scan(&level, &code, &msg); err != nil {
				t.Fatal(err)
			}
			out = append(out, level+" "+code+" "+msg)
		}
		return out
	}
	want := []string{"Warning 1292 Truncated incorrect rpl_semi_sync_source_wait_for_re value: '0'"}
	if got := warnings(); !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings %q, want %q", got, want)
	}
	if got := warnings(); !reflect.DeepEqual(got, want) {
		t.Fatalf("SHOW WARNINGS cleared the warnings: %q", got)
	}
	mustExec(t, conn, "SET GLOBAL rpl_semi_sync_source_timeout = 5")
	if got := warnings(); len(got) != 0 {
		t.Fatalf("warnings of the previous statement after a SET: %q", got)
	}
	mustExec(t, conn, "SET GLOBAL rpl_semi_sync_source_timeout = -1")
	if _, err := conn.ExecContext(ctx, "SET GLOBAL rpl_semi_sync_source_timeout = 'x'"); errNumber(err) != 1232 {
		t.Fatalf("string: %v", err)
	}
	if got := warnings(); len(got) != 0 {
		t.Fatalf("warnings of an earlier statement after a failed one: %q", got)
	}

	mustExec(t, conn, "SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
	_, err = conn.ExecContext(ctx, "SET GLOBAL rpl_semi_sync_source_wait_for_replica_count = 0")
	if errNumber(err) != 1231 || !strings.Contains(err.Error(), "Variable 'rpl_semi_sync_source_wait_for_replica_count' can't be set to the value of '0'") {
		t.Fatalf("strict: %v, want 1231", err)
	}
}

// TestSessionOpenedBeforeInstall: a session that existed before INSTALL sees the variables at
// once (bare @@x, SHOW VARIABLES), and stops seeing them at UNINSTALL.
func TestSessionOpenedBeforeInstall(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	ctx := context.Background()
	old, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	count := func() int {
		rows, err := old.QueryContext(ctx, "SHOW VARIABLES LIKE 'rpl_semi%'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d rows before install", n)
	}
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'", "SET GLOBAL rpl_semi_sync_replica_enabled = ON")
	var v string
	if err := old.QueryRowContext(ctx, "SELECT @@rpl_semi_sync_replica_enabled").Scan(&v); err != nil || v != "1" {
		t.Fatalf("old session @@x: %q %v", v, err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows after install, want 2", n)
	}
	mustExec(t, db, "UNINSTALL PLUGIN rpl_semi_sync_replica")
	if n := count(); n != 0 {
		t.Fatalf("%d rows after uninstall", n)
	}
	if _, err := old.QueryContext(ctx, "SELECT @@rpl_semi_sync_replica_enabled"); errNumber(err) != 1193 {
		t.Fatalf("old session after uninstall: %v, want 1193", err)
	}
}

// TestPluginsPersistInDataDir: INSTALL writes the data directory's plugin table, which the
// next server on it loads; --plugin-load's plugins are not written.
func TestPluginsPersistInDataDir(t *testing.T) {
	dir := t.TempDir()
	s, _ := startServer(t, Config{DataDir: dir, PluginLoad: "rpl_semi_sync_replica=semisync_replica.so"})
	mustExec(t, open(t, dsn(s, "root", "")), "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	buf, err := os.ReadFile(filepath.Join(dir, pluginsFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := pluginFileHeader + "rpl_semi_sync_source\tsemisync_source.so\n"; string(buf) != want {
		t.Fatalf("plugin file %q, want %q", buf, want)
	}
	s, _ = startServer(t, Config{DataDir: dir})
	var names []string
	for _, p := range s.Plugins().Loaded() {
		names = append(names, p.Name)
	}
	if !reflect.DeepEqual(names, []string{"rpl_semi_sync_source"}) {
		t.Fatalf("after restart %v", names)
	}

	if err := os.WriteFile(filepath.Join(dir, pluginsFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := New(Config{DataDir: dir}, storage.New(storage.Options{}), nil); err == nil || !strings.Contains(err.Error(), "want name<TAB>library") {
		t.Fatalf("New with a corrupt plugin file: %v", err)
	}
}

// TestSemisyncOptionsChecked: a start value mysqld refuses fails New; one it adjusts is logged.
func TestSemisyncOptionsChecked(t *testing.T) {
	if _, err := New(Config{SemisyncOptions: map[string]string{"rpl_semi_sync_source_timeout": "soon"}}, storage.New(storage.Options{}), nil); err == nil {
		t.Fatal("New accepted a timeout that is not a number")
	}
	s, hook := startServer(t, Config{
		SemisyncOptions: map[string]string{"rpl_semi_sync_source_wait_for_replica_count": "0"},
		PluginLoad:      "rpl_semi_sync_source=semisync_source.so",
	})
	if got := s.SemisyncState().Source.Config.WaitForReplicaCount.Load(); got != 1 {
		t.Fatalf("count %d, want 1", got)
	}
	logged := false
	for _, e := range hook.AllEntries() {
		logged = logged || strings.Contains(e.Message, "unsigned value 0 adjusted to 1")
	}
	if !logged {
		t.Fatal("the adjustment was not logged")
	}
}
