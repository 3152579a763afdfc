package conformance

import (
	"strings"
	"sync"
	"testing"

	"github.com/dolthub/go-mysql-server/enginetest"
	"github.com/dolthub/go-mysql-server/enginetest/queries"
)

// suites are the enginetest suites run on the storage engine, by the name
// skip entries use. Each runs as its own parallel test.
var suites = []struct {
	name string
	run  func(*testing.T, enginetest.Harness)
}{
	{"Queries", func(t *testing.T, h enginetest.Harness) { enginetest.TestQueries(t, h) }},
	{"QueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestQueriesPrepared(t, h) }},
	{"Scripts", func(t *testing.T, h enginetest.Harness) { withGlobals(func() { enginetest.TestScripts(t, h) }) }},
	{"ScriptsPrepared", func(t *testing.T, h enginetest.Harness) { withGlobals(func() { enginetest.TestScriptsPrepared(t, h) }) }},
	{"JoinQueries", func(t *testing.T, h enginetest.Harness) { enginetest.TestJoinQueries(t, h) }},
	{"JoinQueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestJoinQueriesPrepared(t, h) }},
	{"ComplexIndexQueries", func(t *testing.T, h enginetest.Harness) { enginetest.TestComplexIndexQueries(t, h) }},
	{"ComplexIndexQueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestComplexIndexQueriesPrepared(t, h) }},
	{"InsertInto", func(t *testing.T, h enginetest.Harness) { enginetest.TestInsertInto(t, h) }},
	{"InsertQueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestInsertQueriesPrepared(t, h) }},
	{"InsertScriptsPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestInsertScriptsPrepared(t, h) }},
	{"InsertIgnoreInto", func(t *testing.T, h enginetest.Harness) { enginetest.TestInsertIgnoreInto(t, h) }},
	{"InsertIgnoreScriptsPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestInsertIgnoreScriptsPrepared(t, h) }},
	{"Update", func(t *testing.T, h enginetest.Harness) { enginetest.TestUpdate(t, h) }},
	{"UpdateQueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestUpdateQueriesPrepared(t, h) }},
	{"Delete", func(t *testing.T, h enginetest.Harness) { enginetest.TestDelete(t, h) }},
	{"DeleteQueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestDeleteQueriesPrepared(t, h) }},
	{"ReplaceInto", func(t *testing.T, h enginetest.Harness) { enginetest.TestReplaceInto(t, h) }},
	{"ReplaceQueriesPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestReplaceQueriesPrepared(t, h) }},
	{"TransactionScripts", func(t *testing.T, h enginetest.Harness) { enginetest.TestTransactionScripts(t, h) }},
	{"CreateTable", func(t *testing.T, h enginetest.Harness) { enginetest.TestCreateTable(t, h) }},
	{"AlterTable", func(t *testing.T, h enginetest.Harness) { enginetest.TestAlterTable(t, h) }},
	{"AddDropPks", func(t *testing.T, h enginetest.Harness) { enginetest.TestAddDropPks(t, h) }},
	{"AddAutoIncrementColumn", func(t *testing.T, h enginetest.Harness) {
		for _, s := range queries.AlterTableAddAutoIncrementScripts {
			enginetest.TestScript(t, h, s)
		}
	}},
	{"IndexPrefix", func(t *testing.T, h enginetest.Harness) { enginetest.TestIndexPrefix(t, h) }},
	{"Indexes", func(t *testing.T, h enginetest.Harness) { enginetest.TestIndexes(t, h) }},
	{"ForeignKeys", func(t *testing.T, h enginetest.Harness) { enginetest.TestForeignKeys(t, h) }},
	{"Triggers", func(t *testing.T, h enginetest.Harness) { enginetest.TestTriggers(t, h) }},
	{"StoredProcedures", func(t *testing.T, h enginetest.Harness) { enginetest.TestStoredProcedures(t, h) }},
	{"Views", func(t *testing.T, h enginetest.Harness) { enginetest.TestViews(t, h) }},
	{"ViewsPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestViewsPrepared(t, h) }},
	{"InfoSchema", func(t *testing.T, h enginetest.Harness) { enginetest.TestInfoSchema(t, h) }},
	{"InfoSchemaPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestInfoSchemaPrepared(t, h) }},
	{"ShowTableStatus", func(t *testing.T, h enginetest.Harness) { enginetest.TestShowTableStatus(t, h) }},
	{"ShowTableStatusPrepared", func(t *testing.T, h enginetest.Harness) { enginetest.TestShowTableStatusPrepared(t, h) }},
	{"FulltextIndexes", func(t *testing.T, h enginetest.Harness) { enginetest.TestFulltextIndexes(t, h) }},
	{"Events", func(t *testing.T, h enginetest.Harness) { enginetest.TestEvents(t, h) }},
	{"CharsetCollationEngine", func(t *testing.T, h enginetest.Harness) { enginetest.TestCharsetCollationEngine(t, h) }},
}

// globalsMu serialises the suites that set global system variables
// (Scripts and ScriptsPrepared both set @@global.validate_password.*, which
// GMS keeps per process): run in parallel, one saw the other's value.
var globalsMu sync.Mutex

func withGlobals(f func()) {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	f()
}

// ran records the suites TestEngineSuites ran to the end.
var ran sync.Map

// TestEngineSuites runs every suite in parallel subtests.
func TestEngineSuites(t *testing.T) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, newHarness(s.name))
			ran.Store(s.name, true)
		})
	}
}

// TestSkipList checks the reviewed skip list: every entry names a suite
// and gives a reason, and every entry of a suite that ran was used (a test
// that no longer exists or no longer needs skipping must leave the list).
func TestSkipList(t *testing.T) {
	known := map[string]bool{}
	for _, s := range suites {
		known[s.name] = true
	}
	for i := range skips {
		s := &skips[i]
		if !known[s.Suite] {
			t.Errorf("skip %q: unknown suite %q", s.Name, s.Suite)
		}
		if strings.TrimSpace(s.Why) == "" {
			t.Errorf("skip %s/%q: no reason", s.Suite, s.Name)
		}
		if _, ok := ran.Load(s.Suite); ok && !s.used.Load() {
			t.Errorf("skip %s/%q: no test of the suite has this name any more", s.Suite, s.Name)
		}
	}
}
