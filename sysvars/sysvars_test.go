package sysvars

import (
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	gmsvars "github.com/dolthub/go-mysql-server/sql/variables"
	"github.com/dolthub/vitess/go/mysql"
)

// sqlErr returns err's MySQL number and message, or 0 and "".
func sqlErr(err error) (int, string) {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num, se.Message
	}
	return 0, ""
}

func mustVar(t *testing.T, name string) variable {
	t.Helper()
	v, ok := lookup(name)
	if !ok {
		t.Fatalf("no variable %s", name)
	}
	return v
}

// TestConvert checks every kind of variable against the values MySQL accepts, clamps and
// refuses (docs/semisync.md §1.3–§1.5; testdata/mariadb/plugins_and_errors.txt where MySQL agrees).
func TestConvert(t *testing.T) {
	dec := func(s string) *apd.Decimal {
		d, _, err := apd.NewFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const (
		timeout = "rpl_semi_sync_master_timeout"
		count   = "rpl_semi_sync_master_wait_for_slave_count"
		countR  = "rpl_semi_sync_source_wait_for_replica_count"
		enabled = "rpl_semi_sync_source_enabled"
		point   = "rpl_semi_sync_master_wait_point"
		trace   = "rpl_semi_sync_replica_trace_level"
	)
	for _, tc := range []struct {
		name    string
		in      any
		want    any
		code    int    // expected error number, 0 for none
		msg     string // expected error message or warning text
		warning bool   // a 1292 warning is expected (msg is its text)
	}{
		{timeout, int8(0), uint64(0), 0, "", false},
		{timeout, int64(5000), uint64(5000), 0, "", false},
		{timeout, uint64(math.MaxUint64), uint64(math.MaxUint64), 0, "", false},
		{timeout, int8(-1), uint64(0), 0, "Truncated incorrect rpl_semi_sync_master_timeout value: '-1'", true},
		{timeout, true, uint64(1), 0, "", false},
		{timeout, "abc", nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_timeout'", false},
		{timeout, "1000", nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_timeout'", false},
		{timeout, dec("1.5"), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_timeout'", false},
		{timeout, dec("18446744073709551616"), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_timeout'", false},
		{timeout, float64(1000), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_timeout'", false},
		{timeout, nil, nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_timeout'", false},
		{trace, int8(-5), uint64(0), 0, "Truncated incorrect rpl_semi_sync_replica_trace_leve value: '-5'", true},
		{count, int8(0), uint64(1), 0, "Truncated incorrect rpl_semi_sync_master_wait_for_sl value: '0'", true},
		{count, int8(-1), uint64(1), 0, "Truncated incorrect rpl_semi_sync_master_wait_for_sl value: '-1'", true},
		{countR, int32(65536), uint64(65535), 0, "Truncated incorrect rpl_semi_sync_source_wait_for_re value: '65536'", true},
		{countR, int32(65535), uint64(65535), 0, "", false},
		{countR, dec("1.1"), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_source_wait_for_replica_count'", false},
		{countR, float64(10), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_source_wait_for_replica_count'", false},
		{countR, "text", nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_source_wait_for_replica_count'", false},
		{enabled, "ON", int8(1), 0, "", false},
		{enabled, "off", int8(0), 0, "", false},
		{enabled, int8(1), int8(1), 0, "", false},
		{enabled, false, int8(0), 0, "", false},
		{enabled, "maybe", nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of 'maybe'", false},
		{enabled, "TRUE", nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of 'TRUE'", false},
		{enabled, "yes", nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of 'yes'", false},
		{enabled, "1", nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of '1'", false},
		{enabled, int8(2), nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of '2'", false},
		{enabled, int8(-1), nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of '-1'", false},
		{enabled, nil, nil, 1231, "Variable 'rpl_semi_sync_source_enabled' can't be set to the value of 'NULL'", false},
		{enabled, dec("1.5"), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_source_enabled'", false},
		{point, "AFTER_COMMIT", "AFTER_COMMIT", 0, "", false},
		{point, "after_sync", "AFTER_SYNC", 0, "", false},
		{point, int8(1), "AFTER_COMMIT", 0, "", false},
		{point, int8(0), "AFTER_SYNC", 0, "", false},
		{point, "BOGUS", nil, 1231, "Variable 'rpl_semi_sync_master_wait_point' can't be set to the value of 'BOGUS'", false},
		{point, "", nil, 1231, "Variable 'rpl_semi_sync_master_wait_point' can't be set to the value of ''", false},
		{point, "AFTER", nil, 1231, "Variable 'rpl_semi_sync_master_wait_point' can't be set to the value of 'AFTER'", false},
		{point, nil, nil, 1231, "Variable 'rpl_semi_sync_master_wait_point' can't be set to the value of 'NULL'", false},
		{point, int8(2), nil, 1231, "Variable 'rpl_semi_sync_master_wait_point' can't be set to the value of '2'", false},
		{point, int8(-1), nil, 1231, "Variable 'rpl_semi_sync_master_wait_point' can't be set to the value of '-1'", false},
		{point, dec("0.1"), nil, 1232, "Incorrect argument type to variable 'rpl_semi_sync_master_wait_point'", false},
	} {
		t.Run(tc.name+"="+valueText(tc.in), func(t *testing.T) {
			ctx := sql.NewEmptyContext()
			got, _, err := newVarType(mustVar(t, tc.name)).Convert(ctx, tc.in)
			code, msg := sqlErr(err)
			if code != tc.code || (tc.code != 0 && msg != tc.msg) {
				t.Fatalf("Convert(%#v) error %v (%d %q), want %d %q", tc.in, err, code, msg, tc.code, tc.msg)
			}
			if tc.code == 0 && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Convert(%#v) = %#v, want %#v", tc.in, got, tc.want)
			}
			warnings := ctx.Session.Warnings()
			switch {
			case tc.warning && (len(warnings) != 1 || warnings[0].Code != 1292 || warnings[0].Level != "Warning" || warnings[0].Message != tc.msg):
				t.Fatalf("warnings %+v, want one 1292 %q", warnings, tc.msg)
			case !tc.warning && len(warnings) != 0:
				t.Fatalf("unexpected warnings %+v", warnings)
			}
		})
	}
}

// TestConvertStrictAllTables: under STRICT_ALL_TABLES a clamped value is refused with 1231
// instead of a warning (MySQL's throw_bounds_warning).
func TestConvertStrictAllTables(t *testing.T) {
	ctx := sql.NewEmptyContext()
	if err := ctx.SetSessionVariable(ctx, "sql_mode", "STRICT_ALL_TABLES"); err != nil {
		t.Fatal(err)
	}
	_, _, err := newVarType(mustVar(t, "rpl_semi_sync_source_wait_for_replica_count")).Convert(ctx, int8(0))
	code, msg := sqlErr(err)
	if code != 1231 || msg != "Variable 'rpl_semi_sync_source_wait_for_replica_count' can't be set to the value of '0'" {
		t.Fatalf("got %v", err)
	}
}

// newRegistered returns a State whose variables are registered with GMS (GMS's own registry:
// these tests do not hide variables).
func newRegistered(t *testing.T) *State {
	t.Helper()
	gmsvars.InitSystemVariables()
	s := New()
	Register(s)
	return s
}

// TestInstallSetsValuesAndSubscribersHear: INSTALL assigns start values or defaults, zeroes
// yes_tx/no_tx, and SET of a variable reaches the atomics and the subscribers only when the
// value changes and the family is installed.
func TestInstallSetsValuesAndSubscribersHear(t *testing.T) {
	s := newRegistered(t)
	var events []Event
	cancel := s.Subscribe(func(e Event) { events = append(events, e) })
	defer cancel()

	if _, err := s.SetStartupValues(map[string]string{"rpl_semi_sync_source_timeout": "2500", "rpl_semi_sync_master_timeout": "7"}); err != nil {
		t.Fatal(err)
	}
	ctx := sql.NewEmptyContext()
	// Not installed: the value is stored but nobody hears about it.
	if err := sql.SystemVariables.SetGlobal(ctx, "rpl_semi_sync_source_enabled", "ON"); err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Fatalf("events before install: %+v", events)
	}
	s.Source.Status.YesTx.Store(5)
	s.Source.Status.NoTx.Store(6)
	s.Source.Status.NoTimes.Store(7)
	if err := s.Install(FamilySource); err != nil {
		t.Fatal(err)
	}
	c := &s.Source.Config
	if c.Enabled.Load() || c.TimeoutMillis.Load() != 2500 || c.TraceLevel.Load() != 32 || !c.WaitNoReplica.Load() ||
		c.WaitPoint.Load() != WaitAfterSync || c.WaitForReplicaCount.Load() != 1 {
		t.Fatalf("config after install: enabled %v timeout %d trace %d wait_no_replica %v point %d count %d",
			c.Enabled.Load(), c.TimeoutMillis.Load(), c.TraceLevel.Load(), c.WaitNoReplica.Load(), c.WaitPoint.Load(), c.WaitForReplicaCount.Load())
	}
	if _, v, _ := sql.SystemVariables.GetGlobal("rpl_semi_sync_source_timeout"); v != uint64(2500) {
		t.Fatalf("GMS value %#v, want 2500", v)
	}
	st := &s.Source.Status
	if st.YesTx.Load() != 0 || st.NoTx.Load() != 0 || st.NoTimes.Load() != 7 {
		t.Fatalf("after install yes %d no %d no_times %d; want 0 0 7", st.YesTx.Load(), st.NoTx.Load(), st.NoTimes.Load())
	}
	if !reflect.DeepEqual(events, []Event{{Kind: Installed, Family: FamilySource}}) {
		t.Fatalf("events %+v", events)
	}

	events = nil
	for _, set := range []struct {
		name string
		val  any
	}{
		{"rpl_semi_sync_source_enabled", "ON"},
		{"rpl_semi_sync_source_enabled", int8(1)}, // unchanged: still an event, as MySQL runs the update
		{"rpl_semi_sync_source_wait_for_replica_count", int8(3)},
		{"rpl_semi_sync_source_wait_point", "AFTER_COMMIT"},
	} {
		if err := sql.SystemVariables.SetGlobal(ctx, set.name, set.val); err != nil {
			t.Fatal(err)
		}
	}
	want := []Event{
		{Kind: VarChanged, Family: FamilySource, Var: SourceEnabled},
		{Kind: VarChanged, Family: FamilySource, Var: SourceEnabled},
		{Kind: VarChanged, Family: FamilySource, Var: SourceWaitForReplicaCount},
		{Kind: VarChanged, Family: FamilySource, Var: SourceWaitPoint},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events %+v, want %+v", events, want)
	}
	if !c.Enabled.Load() || c.WaitForReplicaCount.Load() != 3 || c.WaitPoint.Load() != WaitAfterCommit {
		t.Fatal("SET did not reach the atomics")
	}

	if err := s.Install(FamilyMaster); err == nil {
		t.Fatal("installing master while source is installed succeeded")
	}
	events = nil
	s.Uninstall(FamilySource)
	if c.Enabled.Load() || !reflect.DeepEqual(events, []Event{{Kind: Uninstalled, Family: FamilySource}}) {
		t.Fatalf("after uninstall enabled %v events %+v", c.Enabled.Load(), events)
	}
	// The other family now installs, with its own start values; a reinstall of the first
	// starts again from its start values, not from what was set before.
	if err := s.Install(FamilyMaster); err != nil {
		t.Fatal(err)
	}
	if c.TimeoutMillis.Load() != 7 || c.WaitForReplicaCount.Load() != 1 {
		t.Fatalf("master install: timeout %d count %d, want 7 1", c.TimeoutMillis.Load(), c.WaitForReplicaCount.Load())
	}
}

// TestHidden: a variable is hidden exactly while its family is not installed; other names never.
func TestHidden(t *testing.T) {
	s := newRegistered(t)
	for _, name := range []string{"rpl_semi_sync_source_enabled", "RPL_SEMI_SYNC_SOURCE_TIMEOUT", "rpl_semi_sync_slave_enabled"} {
		if !s.Hidden(name) {
			t.Errorf("%s not hidden before install", name)
		}
	}
	for _, name := range []string{"max_connections", "rpl_semi_sync_master_no_such_var", "rpl", ""} {
		if s.Hidden(name) {
			t.Errorf("%s hidden", name)
		}
	}
	if err := s.Install(FamilySlave); err != nil {
		t.Fatal(err)
	}
	if s.Hidden("rpl_semi_sync_slave_trace_level") || !s.Hidden("rpl_semi_sync_replica_trace_level") || !s.Hidden("rpl_semi_sync_source_enabled") {
		t.Error("visibility after installing the slave family is wrong")
	}
}

// TestStatusRegistry: GMS's always-present Rpl_semi_sync_* rows are gone; the installed
// family's 14 (or 1) rows read the live counters; FLUSH STATUS zeroes exactly MySQL's five.
func TestStatusRegistry(t *testing.T) {
	s := newRegistered(t)
	gmsvars.InitStatusVariables()
	InstallStatus(s)
	InstallStatus(s) // idempotent
	names := func() []string {
		var out []string
		for name := range sql.StatusVariables.NewGlobalMap() {
			if strings.HasPrefix(strings.ToLower(name), "rpl_semi") {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}
	if n := names(); len(n) != 0 {
		t.Fatalf("before install: %v", n)
	}
	if _, _, ok := sql.StatusVariables.GetGlobal("Rpl_semi_sync_master_status"); ok {
		t.Fatal("GMS's Rpl_semi_sync_master_status still visible")
	}
	if err := s.Install(FamilySource); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Rpl_semi_sync_source_clients", "Rpl_semi_sync_source_net_avg_wait_time", "Rpl_semi_sync_source_net_wait_time",
		"Rpl_semi_sync_source_net_waits", "Rpl_semi_sync_source_no_times", "Rpl_semi_sync_source_no_tx",
		"Rpl_semi_sync_source_status", "Rpl_semi_sync_source_timefunc_failures", "Rpl_semi_sync_source_tx_avg_wait_time",
		"Rpl_semi_sync_source_tx_wait_time", "Rpl_semi_sync_source_tx_waits", "Rpl_semi_sync_source_wait_pos_backtraverse",
		"Rpl_semi_sync_source_wait_sessions", "Rpl_semi_sync_source_yes_tx",
	}
	if got := names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after install:\n%v\nwant\n%v", got, want)
	}
	st := &s.Source.Status
	st.Status.Store(true)
	st.TxWaits.Store(29)
	st.TxWaitTime.Store(4015)
	for _, c := range []interface{ Store(uint64) }{&st.YesTx, &st.NoTx, &st.NoTimes, &st.TimefuncFailures, &st.WaitPosBacktraverse, &st.NetWaits} {
		c.Store(9)
	}
	st.Clients.Store(2)
	st.WaitSessions.Store(-1)
	get := func(name string) any {
		_, v, ok := sql.StatusVariables.GetGlobal(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		return v
	}
	for name, want := range map[string]any{
		"Rpl_semi_sync_source_status":            "ON",
		"rpl_semi_sync_source_tx_avg_wait_time":  uint64(138), // 4015/29 truncated, as in the MariaDB lab
		"Rpl_semi_sync_source_net_avg_wait_time": uint64(0),
		"Rpl_semi_sync_source_clients":           int64(2),
		"Rpl_semi_sync_source_wait_sessions":     int64(0),
		"Rpl_semi_sync_source_yes_tx":            uint64(9),
	} {
		if got := get(name); got != want {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	s.FlushStatus()
	for name, want := range map[string]uint64{
		"Rpl_semi_sync_source_yes_tx": 0, "Rpl_semi_sync_source_no_tx": 0, "Rpl_semi_sync_source_no_times": 0,
		"Rpl_semi_sync_source_timefunc_failures": 0, "Rpl_semi_sync_source_wait_pos_backtraverse": 0,
		"Rpl_semi_sync_source_net_waits": 9, "Rpl_semi_sync_source_tx_waits": 29, "Rpl_semi_sync_source_tx_wait_time": 4015,
	} {
		if got := get(name); got != want {
			t.Errorf("after FLUSH STATUS %s = %v, want %d", name, got, want)
		}
	}
	if err := s.Install(FamilySlave); err != nil {
		t.Fatal(err)
	}
	s.Replica.Status.Status.Store(true)
	if got := get("Rpl_semi_sync_slave_status"); got != "ON" {
		t.Errorf("slave status %v", got)
	}
	if _, _, ok := sql.StatusVariables.GetGlobal("Rpl_semi_sync_replica_status"); ok {
		t.Error("replica family's status visible with the slave family installed")
	}
	// Other status variables still come from GMS.
	if _, _, ok := sql.StatusVariables.GetGlobal("Uptime"); !ok {
		t.Error("Uptime lost")
	}
}

// TestOptions: every variable has a command-line option, and option values parse as mysqld's.
func TestOptions(t *testing.T) {
	opts := Options()
	if len(opts) != 16 {
		t.Fatalf("%d options, want 16", len(opts))
	}
	byName := map[string]Option{}
	for _, o := range opts {
		byName[o.Name] = o
	}
	if o := byName["rpl-semi-sync-source-enabled"]; !o.Bool || o.Default != "FALSE" || o.Variable != "rpl_semi_sync_source_enabled" {
		t.Errorf("enabled option %+v", o)
	}
	if o := byName["rpl-semi-sync-master-wait-no-slave"]; !o.Bool || o.Default != "TRUE" {
		t.Errorf("wait-no-slave option %+v", o)
	}
	if o := byName["rpl-semi-sync-source-wait-point"]; o.Bool || o.Default != "AFTER_SYNC" {
		t.Errorf("wait-point option %+v", o)
	}

	for _, tc := range []struct {
		name, text string
		want       any
		warning    string
		err        bool
	}{
		{"rpl_semi_sync_source_enabled", "ON", int8(1), "", false},
		{"rpl_semi_sync_source_enabled", "true", int8(1), "", false},
		{"rpl_semi_sync_source_enabled", "0", int8(0), "", false},
		{"rpl_semi_sync_source_enabled", "maybe", int8(0), "option 'rpl_semi_sync_source_enabled': boolean value 'maybe' wasn't recognized. Set to OFF.", false},
		{"rpl_semi_sync_source_timeout", "5000", uint64(5000), "", false},
		{"rpl_semi_sync_source_timeout", "10k", uint64(10240), "", false},
		{"rpl_semi_sync_source_timeout", "-1", nil, "", true},
		{"rpl_semi_sync_source_timeout", "abc", nil, "", true},
		{"rpl_semi_sync_source_wait_for_replica_count", "0", uint64(1), "option 'rpl_semi_sync_source_wait_for_replica_count': unsigned value 0 adjusted to 1.", false},
		{"rpl_semi_sync_source_wait_for_replica_count", "70000", uint64(65535), "option 'rpl_semi_sync_source_wait_for_replica_count': unsigned value 70000 adjusted to 65535.", false},
		{"rpl_semi_sync_master_wait_point", "after_commit", "AFTER_COMMIT", "", false},
		{"rpl_semi_sync_master_wait_point", "0", "AFTER_SYNC", "", false},
		{"rpl_semi_sync_master_wait_point", "sometimes", nil, "", true},
		{"rpl_semi_sync_nothing", "1", nil, "", true},
	} {
		s := New()
		warnings, err := s.SetStartupValues(map[string]string{tc.name: tc.text})
		if (err != nil) != tc.err {
			t.Errorf("%s=%s: error %v, want error %v", tc.name, tc.text, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		if got := s.startValue(mustVar(t, tc.name)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s=%s: start value %#v, want %#v", tc.name, tc.text, got, tc.want)
		}
		if tc.warning == "" && len(warnings) != 0 || tc.warning != "" && (len(warnings) != 1 || warnings[0] != tc.warning) {
			t.Errorf("%s=%s: warnings %q, want %q", tc.name, tc.text, warnings, tc.warning)
		}
	}
}

// TestSQLValuesThroughGMSType: values SELECT shows come out in MySQL's column form (a boolean
// is a BIGINT 0/1, an enum its name, a number unsigned).
func TestSQLValuesThroughGMSType(t *testing.T) {
	ctx := sql.NewEmptyContext()
	for name, in := range map[string]any{
		"rpl_semi_sync_source_enabled":      int8(1),
		"rpl_semi_sync_source_wait_point":   "AFTER_COMMIT",
		"rpl_semi_sync_source_timeout":      uint64(10000),
		"rpl_semi_sync_replica_trace_level": uint64(math.MaxUint64),
	} {
		typ := newVarType(mustVar(t, name))
		v, err := typ.SQL(ctx, nil, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := map[string]string{
			"rpl_semi_sync_source_enabled":      "1",
			"rpl_semi_sync_source_wait_point":   "AFTER_COMMIT",
			"rpl_semi_sync_source_timeout":      "10000",
			"rpl_semi_sync_replica_trace_level": "18446744073709551615",
		}[name]
		if v.ToString() != want {
			t.Errorf("%s: SQL(%v) = %q, want %q", name, in, v.ToString(), want)
		}
	}
}
