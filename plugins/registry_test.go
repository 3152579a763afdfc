package plugins

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	gmsvars "github.com/dolthub/go-mysql-server/sql/variables"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/semisyncd/semisyncd/sysvars"
)

// memStore is a Store in memory that counts saves and can be made to fail.
type memStore struct {
	rows  []Row
	saves int
	fail  error
}

func (m *memStore) Load() ([]Row, error) { return append([]Row(nil), m.rows...), nil }

func (m *memStore) Save(rows []Row) error {
	if m.fail != nil {
		return m.fail
	}
	m.saves++
	m.rows = append([]Row(nil), rows...)
	return nil
}

// fakeInUse is an InUseChecker the test sets.
type fakeInUse map[sysvars.Role]bool

func (f fakeInUse) InUse(r sysvars.Role) bool { return f[r] }

func newRegistry(t *testing.T, store Store) (*Registry, *sysvars.State, *logtest.Hook) {
	t.Helper()
	gmsvars.InitSystemVariables()
	state := sysvars.New()
	sysvars.Register(state)
	logger, hook := logtest.NewNullLogger()
	return New(state, Options{PluginDir: "/plugins/", Store: store, Log: logrus.NewEntry(logger)}), state, hook
}

// code returns err's MySQL error number and message.
func code(err error) (int, string) {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num, se.Message
	}
	if err != nil {
		return -1, err.Error()
	}
	return 0, ""
}

func names(ps []Plugin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// TestInstallUninstall walks the lifecycle with every error of docs/semisync.md §3.2–§3.5, checking the
// error number and text, what is loaded, what is recorded and which variables exist.
func TestInstallUninstall(t *testing.T) {
	store := &memStore{}
	r, state, _ := newRegistry(t, store)
	type step struct {
		op, name, lib string
		code          int
		msg           string
	}
	for i, s := range []step{
		{"uninstall", "rpl_semi_sync_source", "", 1305, "PLUGIN rpl_semi_sync_source does not exist"},
		{"install", "rpl_semi_sync_source", "semisync_source.so", 0, ""},
		{"install", "rpl_semi_sync_source", "semisync_source.so", 1125, "Function 'rpl_semi_sync_source' already exists"},
		{"install", "Rpl_Semi_Sync_Source", "whatever.so", 1125, "Function 'Rpl_Semi_Sync_Source' already exists"},
		{"install", "rpl_semi_sync_master", "semisync_master.so", 4045, "Cannot install the rpl_semi_sync_master plugin when the rpl_semi_sync_source plugin is installed."},
		{"install", "rpl_semi_sync_replica", "nope.so", 1126, "Can't open shared library '/plugins/nope.so' (errno: 2 cannot open shared object file: No such file or directory)"},
		{"install", "rpl_semi_sync_replica", "dir/semisync_replica.so", 1124, "No paths allowed for shared library"},
		{"install", "rpl_semi_sync_replica", strings.Repeat("x", 65), 1124, "No paths allowed for shared library"},
		{"install", "rpl_semi_sync_replica", "semisync_slave.so", 1127, "Can't find symbol 'rpl_semi_sync_replica' in library"},
		{"install", "rpl_semi_sync_slave", "semisync_slave.so", 0, ""},
		{"install", "rpl_semi_sync_replica", "semisync_replica.so", 4045, "Cannot install the rpl_semi_sync_replica plugin when the rpl_semi_sync_slave plugin is installed."},
		{"uninstall", "RPL_SEMI_SYNC_SOURCE", "", 0, ""},
		{"install", "rpl_semi_sync_master", "semisync_master.so", 0, ""},
		{"uninstall", "rpl_semi_sync_source", "", 1305, "PLUGIN rpl_semi_sync_source does not exist"},
	} {
		var err error
		if s.op == "install" {
			err = r.Install(nil, s.name, s.lib)
		} else {
			err = r.Uninstall(nil, s.name)
		}
		if c, m := code(err); c != s.code || m != s.msg {
			t.Fatalf("step %d: %s %s %s: got %d %q, want %d %q", i, s.op, s.name, s.lib, c, m, s.code, s.msg)
		}
	}
	if got, want := names(r.Loaded()), []string{"rpl_semi_sync_slave", "rpl_semi_sync_master"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %v, want %v", got, want)
	}
	if want := []Row{{"rpl_semi_sync_slave", "semisync_slave.so"}, {"rpl_semi_sync_master", "semisync_master.so"}}; !reflect.DeepEqual(store.rows, want) {
		t.Fatalf("recorded %v, want %v", store.rows, want)
	}
	if !state.IsInstalled(sysvars.FamilyMaster) || !state.IsInstalled(sysvars.FamilySlave) || state.IsInstalled(sysvars.FamilySource) {
		t.Fatal("installed families do not match the loaded plugins")
	}
	if rows := r.ShowPlugins(); !reflect.DeepEqual(rows[1], sql.NewRow("rpl_semi_sync_master", "ACTIVE", "REPLICATION", "semisync_master.so", "GPL")) {
		t.Fatalf("SHOW PLUGINS row %v", rows[1])
	}
}

// TestDeprecationNote: installing an old-named plugin adds note 1287 naming its replacement.
func TestDeprecationNote(t *testing.T) {
	r, _, hook := newRegistry(t, nil)
	ctx := sql.NewEmptyContext()
	if err := r.Install(ctx, "rpl_semi_sync_slave", "semisync_slave.so"); err != nil {
		t.Fatal(err)
	}
	w := ctx.Session.Warnings()
	if len(w) != 1 || w[0].Level != "Note" || w[0].Code != 1287 ||
		w[0].Message != "'rpl_semi_sync_slave' is deprecated and will be removed in a future release. Please use rpl_semi_sync_replica instead" {
		t.Fatalf("warnings %+v", w)
	}
	ctx = sql.NewEmptyContext()
	if err := r.Install(ctx, "rpl_semi_sync_source", "semisync_source.so"); err != nil || len(ctx.Session.Warnings()) != 0 {
		t.Fatalf("new name: %v, warnings %+v", err, ctx.Session.Warnings())
	}
	logged := false
	for _, e := range hook.AllEntries() {
		logged = logged || (e.Level == logrus.WarnLevel && e.Data["plugin"] == "rpl_semi_sync_slave")
	}
	if !logged {
		t.Error("the deprecation was not logged")
	}
}

// TestUninstallRefusedWhileInUse: 1883 with MySQL's reason per role, from the default check
// (the counters) and from a checker the runtime installs.
func TestUninstallRefusedWhileInUse(t *testing.T) {
	r, state, _ := newRegistry(t, nil)
	for _, p := range []struct{ name, lib string }{{"rpl_semi_sync_source", "semisync_source.so"}, {"rpl_semi_sync_slave", "semisync_slave.so"}} {
		if err := r.Install(nil, p.name, p.lib); err != nil {
			t.Fatal(err)
		}
	}
	const (
		sourceBusy  = "Plugin 'rpl_semi_sync_source' cannot be uninstalled now. Stop any active semisynchronous replicas of this source first."
		replicaBusy = "Plugin 'rpl_semi_sync_slave' cannot be uninstalled now. Stop any active semisynchronous I/O threads on this replica first."
	)
	// Default: MySQL's rule, read from the counters.
	state.Source.Status.Clients.Store(1)
	state.Replica.Status.Status.Store(true)
	if c, m := code(r.Uninstall(nil, "rpl_semi_sync_source")); c != 1883 || m != sourceBusy {
		t.Errorf("source with a client: %d %q", c, m)
	}
	if c, m := code(r.Uninstall(nil, "rpl_semi_sync_slave")); c != 1883 || m != replicaBusy {
		t.Errorf("replica with semi-sync I/O thread: %d %q", c, m)
	}
	// A runtime's checker replaces the default.
	busy := fakeInUse{sysvars.RoleSource: true}
	r.SetInUseChecker(busy)
	if c, _ := code(r.Uninstall(nil, "rpl_semi_sync_source")); c != 1883 {
		t.Errorf("source, fake busy: %d", c)
	}
	if err := r.Uninstall(nil, "rpl_semi_sync_slave"); err != nil {
		t.Errorf("replica, fake idle: %v", err)
	}
	busy[sysvars.RoleSource] = false
	if err := r.Uninstall(nil, "rpl_semi_sync_source"); err != nil {
		t.Errorf("source, fake idle: %v", err)
	}
	if len(r.Loaded()) != 0 {
		t.Errorf("still loaded: %v", names(r.Loaded()))
	}
}

// TestStart: --plugin-load entries load first and are not recorded; recorded plugins load
// next; what cannot load is logged and skipped.
func TestStart(t *testing.T) {
	store := &memStore{rows: []Row{
		{"rpl_semi_sync_source", "semisync_source.so"}, // conflicts with --plugin-load's master
		{"rpl_semi_sync_replica", "semisync_replica.so"},
		{"rpl_semi_sync_gone", "gone.so"},
	}}
	r, state, hook := newRegistry(t, store)
	if err := r.Start("rpl_semi_sync_master=semisync_master.so;bad.so", []string{" nothing=semisync_slave.so "}); err != nil {
		t.Fatal(err)
	}
	if got, want := names(r.Loaded()), []string{"rpl_semi_sync_master", "rpl_semi_sync_replica"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %v, want %v", got, want)
	}
	if !state.IsInstalled(sysvars.FamilyMaster) || !state.IsInstalled(sysvars.FamilyReplica) {
		t.Fatal("families not installed")
	}
	if store.saves != 0 {
		t.Fatalf("start-up wrote the table %d times", store.saves)
	}
	var failed []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel {
			failed = append(failed, e.Data["library"].(string))
		}
	}
	if want := []string{"bad.so", "semisync_slave.so", "semisync_source.so", "gone.so"}; !reflect.DeepEqual(failed, want) {
		t.Fatalf("logged failures for %v, want %v", failed, want)
	}
	// Uninstalling a plugin loaded by --plugin-load leaves the recorded rows alone; the rows
	// that failed to load stay recorded, as in MySQL's mysql.plugin.
	if err := r.Uninstall(nil, "rpl_semi_sync_master"); err != nil {
		t.Fatal(err)
	}
	if err := r.Uninstall(nil, "rpl_semi_sync_replica"); err != nil {
		t.Fatal(err)
	}
	if want := []Row{{"rpl_semi_sync_source", "semisync_source.so"}, {"rpl_semi_sync_gone", "gone.so"}}; !reflect.DeepEqual(store.rows, want) {
		t.Fatalf("recorded %v, want %v", store.rows, want)
	}
}

// TestStartBareLibrary: a --plugin-load entry without "name=" loads the library's plugins.
func TestStartBareLibrary(t *testing.T) {
	r, _, _ := newRegistry(t, nil)
	if err := r.Start("semisync_replica.so:semisync_source.so", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := names(r.Loaded()), []string{"rpl_semi_sync_replica", "rpl_semi_sync_source"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %v, want %v", got, want)
	}
}

// TestSaveFailureLeavesNothingInstalled: when the table cannot be written, INSTALL fails and
// the plugin is not loaded.
func TestSaveFailureLeavesNothingInstalled(t *testing.T) {
	store := &memStore{fail: errors.New("disk full")}
	r, state, _ := newRegistry(t, store)
	if c, _ := code(r.Install(nil, "rpl_semi_sync_source", "semisync_source.so")); c != 1105 {
		t.Fatalf("install with a failing store: %d", c)
	}
	if len(r.Loaded()) != 0 || state.IsInstalled(sysvars.FamilySource) {
		t.Fatal("the plugin stayed installed")
	}
}

// TestParse covers the statement forms and MySQL's syntax errors (vitess's form, which the
// server turns into 1064 with the text from the offending token on).
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		query, name, soname, err string
	}{
		{query: "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'", name: "rpl_semi_sync_source", soname: "semisync_source.so"},
		{query: "install   plugin `my``plugin` /* c */ soname \"lib'.so\"", name: "my`plugin", soname: "lib'.so"},
		{query: "INSTALL PLUGIN p SONAME 'a\\'b''c'", name: "p", soname: "a'b'c"},
		{query: "INSTALL PLUGIN p SONAME 'x.so' -- trailing comment", name: "p", soname: "x.so"},
		{query: "INSTALL PLUGIN p", err: "syntax error at position 16"},
		{query: "INSTALL SONAME 'x'", err: "syntax error at position 14 near 'SONAME'"},
		{query: "INSTALL PLUGIN p SONAME x", err: "syntax error at position 25 near 'x'"},
		{query: "INSTALL PLUGIN 'p' SONAME 'x'", err: "syntax error at position 18 near ''p''"},
		{query: "INSTALL PLUGIN p SONAME 'x", err: "syntax error at position 26 near ''x'"},
		{query: "INSTALL PLUGIN p SONAME 'x' y", err: "syntax error at position 29 near 'y'"},
		{query: "INSTALL COMPONENT 'file://c'", err: "This version of MySQL doesn't yet support 'INSTALL COMPONENT'"},
	} {
		name, soname, err := ParseInstall(tc.query)
		if tc.err != "" {
			if _, m := code(err); m != tc.err {
				t.Errorf("%q: error %q, want %q", tc.query, m, tc.err)
			}
			continue
		}
		if err != nil || name != tc.name || soname != tc.soname {
			t.Errorf("%q: %q %q %v, want %q %q", tc.query, name, soname, err, tc.name, tc.soname)
		}
	}
	for _, tc := range []struct{ query, name, err string }{
		{query: "UNINSTALL PLUGIN rpl_semi_sync_source", name: "rpl_semi_sync_source"},
		{query: "uninstall plugin `x`", name: "x"},
		{query: "UNINSTALL PLUGIN", err: "syntax error at position 16"},
		{query: "UNINSTALL SONAME 'x.so'", err: "syntax error at position 16 near 'SONAME'"},
		{query: "UNINSTALL PLUGIN a b", err: "syntax error at position 20 near 'b'"},
		{query: "UNINSTALL COMPONENT 'file://c'", err: "This version of MySQL doesn't yet support 'UNINSTALL COMPONENT'"},
	} {
		name, err := ParseUninstall(tc.query)
		if tc.err != "" {
			if _, m := code(err); m != tc.err {
				t.Errorf("%q: error %q, want %q", tc.query, m, tc.err)
			}
			continue
		}
		if err != nil || name != tc.name {
			t.Errorf("%q: %q %v, want %q", tc.query, name, err, tc.name)
		}
	}
}

// TestInformationSchemaRows: information_schema.PLUGINS has MySQL's eleven columns and a row
// per loaded plugin with MySQL 8.0's attributes.
func TestInformationSchemaRows(t *testing.T) {
	r, _, _ := newRegistry(t, nil)
	if err := r.Install(nil, "rpl_semi_sync_replica", "semisync_replica.so"); err != nil {
		t.Fatal(err)
	}
	tbl := r.InformationSchemaTable()
	if len(tbl.TableSchema) != 11 || tbl.TableSchema[0].Name != "PLUGIN_NAME" || tbl.TableSchema[10].Name != "LOAD_OPTION" {
		t.Fatalf("schema %v", tbl.TableSchema)
	}
	ctx := sql.NewEmptyContext()
	iter, err := tbl.Reader(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sql.RowIterToRows(ctx, iter)
	if err != nil {
		t.Fatal(err)
	}
	want := []sql.Row{sql.NewRow("rpl_semi_sync_replica", "1.0", "ACTIVE", "REPLICATION", "4.0", "semisync_replica.so", "1.11",
		"Oracle Corporation", "Replica-side semi-synchronous replication.", "GPL", "ON")}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
}
