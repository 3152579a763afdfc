package sqlserver

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// planCache skips GMS's analyzer for the simple SELECTs a client repeats with other values:
// sysbench's point selects and primary-key ranges, prepared or not. GMS parses (or takes the
// prepared AST), binds and checks privileges for every statement, then analyzes the bound plan
// from scratch, which was a third of a point select's CPU. The cache sits in the analyzer
// itself, as a leading batch (installPlanCache), so everything before analysis (binding,
// privileges, views, the transaction) and everything after it (execution, results, status) is
// GMS's unchanged path.
//
// A bound plan is keyed by its shape: node and expression kinds, tables, columns and their
// types, and the types (not the values) of its literals, together with the session's sql_mode
// and sql_select_limit. Only shapes from an allow-list are cached: Project, Filter, Sort,
// GroupBy and Distinct over one table, comparisons, AND/OR, column references, integer
// literals and the common aggregates — nothing whose analysis depends on a value (no LIMIT, no
// functions, no subqueries, no joins). The analyzed plan of such a shape must be the same
// nodes over one static index lookup with a single range, whose bounds are the statement's
// literals; it is kept as a template with, for each literal in it and for each bound of the
// range, the literal of the bound plan it came from.
//
// A template is trusted only once it proved itself: the next execution of the shape with
// other values is analyzed by GMS as well, and its plan compared with the template rebound to
// those values (the whole plan's text and the bounds' values and Go types); a mismatch retires
// the shape for the session. A trusted template is rebound to each execution's literals
// (converted to the index column's type as GMS converts them); a value GMS would convert with
// a loss, or a range whose bounds would cross, falls back to GMS's analysis. The index the
// template reads must still exist with the same columns (checked through the table at every
// use), so DDL never runs a stale plan.
//
// Templates are per session (a session runs one statement at a time, so a template's nodes are
// never executed by two goroutines at once) and at most maxTemplates per session; they are
// dropped when the connection closes.
type planCache struct {
	sessions sync.Map          // session id → *sessionPlans
	simple   []*analyzer.Batch // GMS's simple-select batches; nil: simple selects are left to GMS
	disabled atomic.Bool

	// counters for tests
	hits, learned, verified, refused atomic.Int64
	dmlHits                          atomic.Int64 // hits of UPDATE and DELETE templates (plancache_dml.go)
	fastHits                         atomic.Int64 // hits that also skipped binding (fastexec.go)
}

// maxTemplates bounds the shapes one session keeps; the rest are analyzed by GMS each time.
const maxTemplates = 64

// maxFailures retires a shape that could not be made a template this many times.
const maxFailures = 3

type sessionPlans struct {
	shapes  map[string]*planTemplate
	pending *pendingPlan
	dml     *pendingPlan // an UPDATE or DELETE analysis to learn from (plancache_dml.go)

	// Prepared statements (fastexec.go), by statement text.
	prepared map[string]*preparedPlan
	exec     *execParams          // the parameters of the execution being analyzed, or nil
	builder  *planbuilder.Builder // converts parameters to literals as GMS's binder does
}

type templateState int

const (
	tmplLearned  templateState = iota // made from one execution, awaiting verification
	tmplVerified                      // matched GMS's analysis for other values
	tmplRetired                       // never cached again for this session
	tmplFailed                        // no template could be made yet (failures counts the tries)
)

// planTemplate is an analyzed plan with the places its literals go.
type planTemplate struct {
	state    templateState
	failures int

	analyzed sql.Node
	values   []interface{} // the bound plan's literal values it was made from
	max1Row  bool          // the analyzer set QFlagMax1Row

	ita       *plan.IndexedTableAccess
	lookup    sql.IndexLookup
	litSlots  map[*expression.Literal]int // analyzed literal → bound literal index
	cutSlots  [][2]int                    // per range column: bound literal index of lower, upper cut (-1: not a keyed cut)
	indexID   any                         // indexIdentity when the template was made
	indexName string

	// The plan fastExec rebinds in place (readpath.go): analyzed with liveITA for ita.
	live    sql.Node
	liveITA *plan.IndexedTableAccess

	// UPDATE and DELETE templates (plancache_dml.go): the definitions they were verified
	// under (definitionSequencer), and the literals whose value stayed the same in the
	// verification (the template answers only for those same values).
	defSeq uint64
	fixed  []bool
}

// pendingPlan carries one top-level analysis from the leading batch to the last.
type pendingPlan struct {
	ctx    *sql.Context
	key    string
	lits   []*expression.Literal
	verify *planTemplate // set when this analysis verifies a learned template
}

// planCacheRuleId is the id of the cache's rules; no rule selector of GMS excludes it.
const planCacheRuleId analyzer.RuleId = 1000

// cachedPlan marks an analysis answered from the cache: the remaining batches pass it through
// and the last one unwraps it.
type cachedPlan struct{ sql.Node }

func (c cachedPlan) Children() []sql.Node { return nil }
func (c cachedPlan) WithChildren(*sql.Context, ...sql.Node) (sql.Node, error) {
	return c, nil
}

// installPlanCache puts the cache into a's batches: a leading batch that answers from the
// cache, and each of GMS's batches wrapped so that an answered analysis passes through and the
// last batch learns from an unanswered one.
//
// GMS analyzes a "simple select" (a projection of an optionally filtered table) with a short
// list of batches of its own instead of a's, unless analyzer.AlwaysBeforeDefault has rules. So
// the cache puts a rule that does nothing there, and its leading batch runs that short list
// itself (made of the same rules, found by name in a's batches) for the simple selects it does
// not answer; when a rule of that list cannot be found, simple selects are left to GMS.
func installPlanCache(a *analyzer.Analyzer, pc *planCache) {
	orig := a.Batches
	if simple, ok := simpleSelectBatches(orig); ok {
		pc.simple = simple
		installDMLRules()
		dmlCaches.Store(a, pc)
	}
	batches := make([]*analyzer.Batch, 0, len(orig)+1)
	batches = append(batches, &analyzer.Batch{
		Desc:       "semisyncd-plan-cache",
		Iterations: 1,
		Rules:      []analyzer.Rule{{Id: planCacheRuleId, Apply: pc.lookup}},
	})
	for i, b := range orig {
		b, last := b, i == len(orig)-1
		batches = append(batches, &analyzer.Batch{
			Desc:       b.Desc,
			Iterations: b.Iterations,
			Rules: []analyzer.Rule{{Id: planCacheRuleId, Apply: func(ctx *sql.Context, a *analyzer.Analyzer, n sql.Node, scope *plan.Scope, sel analyzer.RuleSelector, qFlags *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
				if c, ok := n.(cachedPlan); ok {
					if last {
						return c.Node, transform.NewTree, nil
					}
					return n, transform.SameTree, nil
				}
				out, same, err := b.Eval(ctx, a, n, scope, sel, qFlags)
				if last && err == nil && scope.IsEmpty() {
					pc.learn(ctx, out, qFlags)
				}
				return out, same, err
			}}},
		})
	}
	a.Batches = batches
}

// simpleSelectRules are GMS's batches for a simple select (its getBatchesForNode), by rule name.
var simpleSelectRules = [][]string{
	{"simplifyFilters", "pushNotFilters"},
	{"validateNoHiddenSystemColumns", "validateStarExpressions", "pruneTables"},
	{"stripTableNamesFromColumnDefaults", "pushFilters", "optimizeJoins", "eraseProjection", "applyHashIn", "assignRoutines"},
	{"assignExecIndexes", "quoteDefaultColumnValueNames", "trackProcess"},
	{"validateOperands"},
}

// simpleSelectBatches builds GMS's simple-select batches from the rules of batches.
func simpleSelectBatches(batches []*analyzer.Batch) ([]*analyzer.Batch, bool) {
	byName := map[string]analyzer.Rule{}
	for _, b := range batches {
		for _, r := range b.Rules {
			byName[r.Id.String()] = r
		}
	}
	var out []*analyzer.Batch
	for i, names := range simpleSelectRules {
		b := &analyzer.Batch{Desc: "semisyncd-simple-select-" + strconv.Itoa(i), Iterations: 1}
		for _, name := range names {
			r, ok := byName[name]
			if !ok {
				return nil, false
			}
			b.Rules = append(b.Rules, r)
		}
		out = append(out, b)
	}
	return out, true
}

// isSimpleSelect is GMS's test for the simple-select batches: a projection of a table, filtered
// or not, outside a subquery.
func isSimpleSelect(n sql.Node, qFlags *sql.QueryFlags) bool {
	p, ok := n.(*plan.Project)
	if !ok || (qFlags != nil && qFlags.SubqueryIsSet()) {
		return false
	}
	child := p.Child
	if f, ok := child.(*plan.Filter); ok {
		child = f.Child
	}
	_, ok = child.(*plan.ResolvedTable)
	return ok
}

// forget drops a closed session's templates.
func (pc *planCache) forget(sessionID uint32) { pc.sessions.Delete(sessionID) }

func (pc *planCache) session(ctx *sql.Context) *sessionPlans {
	id := ctx.Session.ID()
	if sp, ok := pc.sessions.Load(id); ok {
		return sp.(*sessionPlans)
	}
	sp := &sessionPlans{shapes: map[string]*planTemplate{}, prepared: map[string]*preparedPlan{}}
	pc.sessions.Store(id, sp)
	return sp
}

// sessionByID returns the plans of session id, or nil before its first cached analysis.
func (pc *planCache) sessionByID(id uint32) *sessionPlans {
	if sp, ok := pc.sessions.Load(id); ok {
		return sp.(*sessionPlans)
	}
	return nil
}

// lookup is the leading batch's rule: a trusted template answers the analysis; otherwise the
// analysis is marked for the last batch to learn from or to verify a template with.
func (pc *planCache) lookup(ctx *sql.Context, a *analyzer.Analyzer, n sql.Node, scope *plan.Scope, sel analyzer.RuleSelector, qFlags *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if out, ok := pc.answer(ctx, n, scope, qFlags); ok {
		return cachedPlan{out}, transform.NewTree, nil
	}
	if pc.simple == nil || !scope.IsEmpty() || !isSimpleSelect(n, qFlags) {
		return n, transform.SameTree, nil
	}
	// GMS's own analysis of a simple select, which the rest of a's batches pass through.
	for _, b := range pc.simple {
		var err error
		n, _, err = b.Eval(ctx, a, n, scope, sel, qFlags)
		if err != nil {
			return n, transform.SameTree, err
		}
	}
	pc.learn(ctx, n, qFlags)
	return cachedPlan{n}, transform.NewTree, nil
}

// answer returns the plan of a trusted template for n, or false (having marked n's analysis for
// learn when it can make or verify a template).
func (pc *planCache) answer(ctx *sql.Context, n sql.Node, scope *plan.Scope, qFlags *sql.QueryFlags) (sql.Node, bool) {
	if pc.disabled.Load() || !scope.IsEmpty() || ctx.Session == nil {
		return nil, false
	}
	sp := pc.session(ctx)
	sp.pending = nil
	var sb shapeBuilder
	if !sb.node(ctx, n) {
		return nil, false
	}
	sb.vars(ctx)
	key := sb.b.String()
	t := sp.shapes[key]
	switch {
	case t == nil || t.state == tmplFailed:
		if t == nil && len(sp.shapes) >= maxTemplates {
			return nil, false
		}
		sp.pending = &pendingPlan{ctx: ctx, key: key, lits: sb.lits}
	case t.state == tmplRetired:
	case t.state == tmplLearned:
		if distinctFrom(sb.lits, t.values) {
			sp.pending = &pendingPlan{ctx: ctx, key: key, lits: sb.lits, verify: t}
		}
	case t.state == tmplVerified:
		if !t.indexStillThere(ctx) {
			delete(sp.shapes, key)
			return nil, false
		}
		out, ok := t.rebind(ctx, sb.lits)
		if !ok {
			return nil, false
		}
		if t.max1Row {
			qFlags.Set(sql.QFlagMax1Row)
		}
		if sp.exec != nil {
			pc.learnPrepared(ctx, sp, key, t, sb.lits)
		}
		pc.hits.Add(1)
		return out, true
	}
	return nil, false
}

// learn is called with the analyzed plan of a top-level analysis the cache did not answer.
func (pc *planCache) learn(ctx *sql.Context, analyzed sql.Node, qFlags *sql.QueryFlags) {
	if ctx.Session == nil {
		return
	}
	v, ok := pc.sessions.Load(ctx.Session.ID())
	if !ok {
		return
	}
	sp := v.(*sessionPlans)
	p := sp.pending
	sp.pending = nil
	if p == nil || p.ctx != ctx {
		return
	}
	if t := p.verify; t != nil {
		mine, ok := t.rebind(ctx, p.lits)
		if ok && samePlan(ctx, mine, analyzed) && t.max1Row == qFlags.IsSet(sql.QFlagMax1Row) {
			t.state = tmplVerified
			t.analyzed = withFastSorts(ctx, t.analyzed)
			pc.verified.Add(1)
		} else {
			t.state = tmplRetired
			pc.refused.Add(1)
		}
		return
	}
	if t := pc.keep(ctx, sp, p, analyzed); t != nil {
		t.max1Row = qFlags.IsSet(sql.QFlagMax1Row)
	}
}

// keep makes a template of the analyzed plan of pending analysis p and stores it as p's shape's,
// or, when none can be made, counts a failure for the shape (another execution's values may make
// one, e.g. when two literals were equal; maxFailures retire it). It returns the template or nil.
func (pc *planCache) keep(ctx *sql.Context, sp *sessionPlans, p *pendingPlan, analyzed sql.Node) *planTemplate {
	t := makeTemplate(ctx, analyzed, p.lits)
	if t == nil {
		old := sp.shapes[p.key]
		if old == nil || old.state != tmplFailed {
			old = &planTemplate{state: tmplFailed}
			sp.shapes[p.key] = old
		}
		if old.failures++; old.failures >= maxFailures {
			old.state = tmplRetired
		}
		pc.refused.Add(1)
		return nil
	}
	sp.shapes[p.key] = t
	pc.learned.Add(1)
	return t
}

// distinctFrom reports whether every literal's value differs from the template's value in the
// same place (so a verification shows where each value goes).
func distinctFrom(lits []*expression.Literal, values []interface{}) bool {
	if len(lits) != len(values) {
		return false
	}
	for i, l := range lits {
		if l.Value() == values[i] {
			return false
		}
	}
	return true
}

// shapeBuilder writes a bound plan's shape key and collects its literals, refusing anything
// outside the allow-list.
type shapeBuilder struct {
	b    strings.Builder
	lits []*expression.Literal
	set  bool // in an UPDATE's SET: string and float literals are allowed too
}

func (s *shapeBuilder) vars(ctx *sql.Context) {
	var buf [256]byte
	s.b.Write(appendVars(buf[:0], ctx))
}

func (s *shapeBuilder) node(ctx *sql.Context, n sql.Node) bool {
	switch n := n.(type) {
	case *plan.Project:
		s.b.WriteString("P(")
		if !s.exprs(ctx, n.Projections) {
			return false
		}
	case *plan.Filter:
		s.b.WriteString("F(")
		if !s.expr(ctx, n.Expression) {
			return false
		}
	case *plan.Sort:
		s.b.WriteString("S(")
		for _, f := range n.SortConditions {
			s.b.WriteString(f.Order.String())
			s.b.WriteString(strconv.Itoa(int(f.NullOrdering)))
			if !s.expr(ctx, f.Expr) {
				return false
			}
		}
	case *plan.GroupBy:
		s.b.WriteString("G(")
		if !s.exprs(ctx, n.SelectDeps) || !s.exprs(ctx, n.GroupByExprs) {
			return false
		}
	case *plan.Distinct:
		s.b.WriteString("D(")
	case *plan.ResolvedTable:
		s.b.WriteString("T(")
		if db := n.Database(); db != nil {
			s.b.WriteString(db.Name())
		}
		s.b.WriteByte('.')
		s.b.WriteString(n.Name())
		if tt, ok := n.UnderlyingTable().(sql.TemporaryTable); ok && tt.IsTemporary() {
			// A temporary table shadows the base table of its name: a
			// template of one must never answer for the other.
			s.b.WriteString("#tmp")
		}
		s.b.WriteString(")")
		return true
	default:
		return false
	}
	children := n.Children()
	if len(children) != 1 {
		return false
	}
	if !s.node(ctx, children[0]) {
		return false
	}
	s.b.WriteByte(')')
	return true
}

func (s *shapeBuilder) exprs(ctx *sql.Context, es []sql.Expression) bool {
	for _, e := range es {
		if !s.expr(ctx, e) {
			return false
		}
		s.b.WriteByte(',')
	}
	return true
}

func (s *shapeBuilder) expr(ctx *sql.Context, e sql.Expression) bool {
	switch e := e.(type) {
	case *expression.Literal:
		switch e.Value().(type) {
		case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		case string, float64:
			if !s.set {
				return false
			}
		default:
			return false
		}
		s.b.WriteString("L:")
		s.b.WriteString(e.Type(ctx).String())
		s.lits = append(s.lits, e)
		return true
	case *expression.GetField:
		s.b.WriteString("C:")
		s.b.WriteString(e.Table())
		s.b.WriteByte('.')
		s.b.WriteString(e.Name())
		s.b.WriteByte(':')
		s.b.WriteString(strconv.Itoa(int(e.Id())))
		s.b.WriteByte(':')
		s.b.WriteString(e.Type(ctx).String())
		return true
	case *expression.Alias:
		s.b.WriteString("A:")
		s.b.WriteString(e.Name())
	case *expression.SetField:
		if !s.set {
			return false
		}
		s.b.WriteString("SET")
	case *expression.Arithmetic:
		if !s.set {
			return false
		}
		s.b.WriteString("AR")
		s.b.WriteString(e.Op)
	case *expression.Equals:
		s.b.WriteString("=")
	case *expression.NullSafeEquals:
		s.b.WriteString("<=>")
	case *expression.LessThan:
		s.b.WriteString("<")
	case *expression.LessThanOrEqual:
		s.b.WriteString("<=")
	case *expression.GreaterThan:
		s.b.WriteString(">")
	case *expression.GreaterThanOrEqual:
		s.b.WriteString(">=")
	case *expression.Between:
		s.b.WriteString("BETWEEN")
	case *expression.And:
		s.b.WriteString("AND")
	case *expression.Or:
		s.b.WriteString("OR")
	case *aggregation.Sum:
		s.b.WriteString("SUM")
	case *aggregation.Count:
		s.b.WriteString("COUNT")
	case *aggregation.Min:
		s.b.WriteString("MIN")
	case *aggregation.Max:
		s.b.WriteString("MAX")
	case *aggregation.Avg:
		s.b.WriteString("AVG")
	case *exactAggregate:
		if e.avg {
			s.b.WriteString("XAVG")
		} else {
			s.b.WriteString("XSUM")
		}
	default:
		return false
	}
	s.b.WriteByte('(')
	for _, c := range e.Children() {
		if !s.expr(ctx, c) {
			return false
		}
		s.b.WriteByte(',')
	}
	s.b.WriteByte(')')
	return true
}

// makeTemplate makes a template of an analyzed plan, or returns nil when the plan is not one
// whose values can be told apart and replaced.
func makeTemplate(ctx *sql.Context, analyzed sql.Node, lits []*expression.Literal) *planTemplate {
	values := make([]interface{}, len(lits))
	for i, l := range lits {
		values[i] = l.Value()
		for j := 0; j < i; j++ {
			if values[j] == values[i] {
				return nil // two places with one value: which is which cannot be told
			}
		}
	}
	slotOf := func(v interface{}) int {
		for i, w := range values {
			if w == v {
				return i
			}
		}
		return -1
	}
	t := &planTemplate{state: tmplLearned, analyzed: analyzed, values: values, litSlots: map[*expression.Literal]int{}}
	ok := true
	var walkExpr func(e sql.Expression)
	walkExpr = func(e sql.Expression) {
		if !ok {
			return
		}
		switch e := e.(type) {
		case *expression.Literal:
			if i := slotOf(e.Value()); i >= 0 {
				t.litSlots[e] = i
			}
		case *expression.GetField, *expression.Alias, *expression.SetField, *expression.Arithmetic, *expression.Equals, *expression.NullSafeEquals,
			*expression.LessThan, *expression.LessThanOrEqual, *expression.GreaterThan, *expression.GreaterThanOrEqual,
			*expression.Between, *expression.And, *expression.Or,
			*aggregation.Sum, *aggregation.Count, *aggregation.Min, *aggregation.Max, *aggregation.Avg, *exactAggregate:
		default:
			ok = false
			return
		}
		for _, c := range e.Children() {
			walkExpr(c)
		}
	}
	var walk func(n sql.Node)
	walk = func(n sql.Node) {
		if !ok {
			return
		}
		switch n := n.(type) {
		case *plan.Project:
			for _, e := range n.Projections {
				walkExpr(e)
			}
		case *plan.Filter:
			walkExpr(n.Expression)
		case *plan.Sort:
			for _, f := range n.SortConditions {
				walkExpr(f.Expr)
			}
		case *plan.GroupBy:
			for _, e := range n.SelectDeps {
				walkExpr(e)
			}
			for _, e := range n.GroupByExprs {
				walkExpr(e)
			}
		case *plan.Distinct:
		case *plan.Update:
			if len(n.Checks()) > 0 || len(n.Returning) > 0 {
				ok = false
				return
			}
		case *plan.UpdateSource:
			for _, e := range n.UpdateExprs.AllExpressions() {
				walkExpr(e)
			}
		case *plan.DeleteFrom:
			if len(n.Returning) > 0 {
				ok = false
				return
			}
			for _, target := range n.GetDeleteTargets() {
				if _, isRT := target.(*plan.ResolvedTable); !isRT {
					ok = false
					return
				}
			}
		case *plan.IndexedTableAccess:
			if t.ita != nil || !n.IsStatic() {
				ok = false
				return
			}
			if _, isRT := n.TableNode.(*plan.ResolvedTable); !isRT {
				ok = false
				return
			}
			t.ita = n
			return
		default:
			ok = false
			return
		}
		children := n.Children()
		if len(children) != 1 {
			ok = false
			return
		}
		walk(children[0])
	}
	walk(analyzed)
	if !ok || t.ita == nil {
		return nil
	}
	t.lookup = plan.GetIndexLookup(t.ita)
	rc, isMySQL := t.lookup.Ranges.(sql.MySQLRangeCollection)
	if !isMySQL || len(rc) != 1 || t.lookup.Index == nil || t.lookup.IsSpatialLookup || t.lookup.IsReverse || t.lookup.VectorOrderAndLimit.OrderBy != nil {
		return nil
	}
	for _, ce := range rc[0] {
		slots := [2]int{-1, -1}
		for side, cut := range [2]sql.MySQLRangeCut{ce.LowerBound, ce.UpperBound} {
			var key interface{}
			switch c := cut.(type) {
			case sql.Below:
				key = c.Key
			case sql.Above:
				key = c.Key
			default:
				continue
			}
			i := -1
			for j, l := range lits {
				k, inRange, err := ce.Typ.Convert(ctx, l.Value())
				if err == nil && inRange == sql.InRange && k == key {
					if i >= 0 {
						return nil
					}
					i = j
				}
			}
			if i < 0 {
				return nil // a bound that is no literal of the statement
			}
			slots[side] = i
		}
		t.cutSlots = append(t.cutSlots, slots)
	}
	t.indexName = t.lookup.Index.ID()
	if t.indexID = t.indexIdentity(ctx); t.indexID == nil {
		return nil
	}
	return t
}

func indexSignature(idx sql.Index) string {
	var b strings.Builder
	b.WriteString(idx.ID())
	b.WriteByte('(')
	b.WriteString(strings.Join(idx.Expressions(), ","))
	b.WriteByte(')')
	if idx.IsUnique() {
		b.WriteString("u")
	}
	return b.String()
}

// indexKeyer is storage.Table's IndexKey: an identity of an index's definition.
type indexKeyer interface {
	IndexKey(ctx *sql.Context, name string) any
}

// indexIdentity is the identity of the template's index now: storage's IndexKey, or for another
// table its signature (name, columns, uniqueness) among GetIndexes.
func (t *planTemplate) indexIdentity(ctx *sql.Context) any {
	table := t.ita.TableNode.UnderlyingTable()
	if k, ok := table.(indexKeyer); ok {
		return k.IndexKey(ctx, t.indexName)
	}
	it, ok := table.(sql.IndexAddressableTable)
	if !ok {
		return nil
	}
	idxs, err := it.GetIndexes(ctx)
	if err != nil {
		return nil
	}
	for _, idx := range idxs {
		if idx.ID() == t.indexName {
			return indexSignature(idx)
		}
	}
	return nil
}

// indexStillThere reports whether the template's table still has its index, unchanged.
func (t *planTemplate) indexStillThere(ctx *sql.Context) bool {
	id := t.indexIdentity(ctx)
	return id != nil && id == t.indexID
}

// access returns the template's index access for the bound plan's literals lits, or false
// when GMS must analyze this execution itself.
func (t *planTemplate) access(ctx *sql.Context, lits []*expression.Literal) (*plan.IndexedTableAccess, bool) {
	if len(lits) != len(t.values) {
		return nil, false
	}
	rc := t.lookup.Ranges.(sql.MySQLRangeCollection)
	newRange := make(sql.MySQLRange, len(rc[0]))
	for i, ce := range rc[0] {
		slots := t.cutSlots[i]
		keys := [2]interface{}{}
		for side := 0; side < 2; side++ {
			if slots[side] < 0 {
				continue
			}
			k, inRange, err := ce.Typ.Convert(ctx, lits[slots[side]].Value())
			if err != nil || inRange != sql.InRange || k == nil {
				return nil, false
			}
			keys[side] = k
		}
		lower, upper := ce.LowerBound, ce.UpperBound
		switch c := lower.(type) {
		case sql.Below:
			lower = sql.Below{Key: keys[0], Typ: c.Typ}
		case sql.Above:
			lower = sql.Above{Key: keys[0], Typ: c.Typ}
		}
		switch c := upper.(type) {
		case sql.Below:
			upper = sql.Below{Key: keys[1], Typ: c.Typ}
		case sql.Above:
			upper = sql.Above{Key: keys[1], Typ: c.Typ}
		}
		if slots[0] >= 0 && slots[1] >= 0 {
			cmp, err := ce.Typ.Compare(ctx, keys[0], keys[1])
			if err != nil || cmp > 0 {
				return nil, false // crossed bounds: GMS knows what an empty range becomes
			}
		}
		newRange[i] = sql.MySQLRangeColumnExpr{LowerBound: lower, UpperBound: upper, Typ: ce.Typ}
	}
	lookup := t.lookup
	lookup.Ranges = sql.MySQLRangeCollection{newRange}
	ita, err := plan.NewStaticIndexedAccessForTableNode(ctx, t.ita.TableNode, lookup)
	if err != nil {
		return nil, false
	}
	if t.ita.Id() != ita.Id() || !t.ita.Columns().Equals(ita.Columns()) {
		ita = ita.WithId(t.ita.Id()).WithColumns(t.ita.Columns()).(*plan.IndexedTableAccess)
	}
	return ita, true
}

// rebind returns the template's plan for the bound plan's literals lits, or false when GMS
// must analyze this execution itself.
func (t *planTemplate) rebind(ctx *sql.Context, lits []*expression.Literal) (sql.Node, bool) {
	node, ok := t.access(ctx, lits)
	if !ok {
		return nil, false
	}
	out, _, err := transform.Node(ctx, t.analyzed, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		if n == sql.Node(t.ita) {
			return node, transform.NewTree, nil
		}
		if len(t.litSlots) == 0 {
			return n, transform.SameTree, nil
		}
		return transform.OneNodeExpressions(ctx, n, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
			if l, ok := e.(*expression.Literal); ok {
				if i, ok := t.litSlots[l]; ok {
					return lits[i], transform.NewTree, nil
				}
			}
			return e, transform.SameTree, nil
		})
	})
	if err != nil {
		return nil, false
	}
	if d, ok := out.(*plan.DeleteFrom); ok {
		// DeleteFrom.WithChildren forgets these; assignExecIndexes reads RefsSingleRel.
		orig := t.analyzed.(*plan.DeleteFrom)
		c := *d
		c.RefsSingleRel, c.IsProcNested = orig.RefsSingleRel, orig.IsProcNested
		out = &c
	}
	return out, true
}

// samePlan reports whether two analyzed plans are the same: the same text, and index lookups
// with bounds of the same values and Go types.
func samePlan(ctx *sql.Context, a, b sql.Node) bool {
	if sql.DebugString(ctx, a) != sql.DebugString(ctx, b) {
		return false
	}
	var la, lb []sql.IndexLookup
	collect := func(into *[]sql.IndexLookup) func(sql.Node) bool {
		return func(n sql.Node) bool {
			if ita, ok := n.(*plan.IndexedTableAccess); ok {
				*into = append(*into, plan.GetIndexLookup(ita))
			}
			return true
		}
	}
	transform.Inspect(a, collect(&la))
	transform.Inspect(b, collect(&lb))
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		x, ok1 := la[i].Ranges.(sql.MySQLRangeCollection)
		y, ok2 := lb[i].Ranges.(sql.MySQLRangeCollection)
		if !ok1 || !ok2 || len(x) != len(y) || la[i].IsPointLookup != lb[i].IsPointLookup || la[i].IsEmptyRange != lb[i].IsEmptyRange {
			return false
		}
		for r := range x {
			if len(x[r]) != len(y[r]) {
				return false
			}
			for c := range x[r] {
				if cutKey(x[r][c].LowerBound) != cutKey(y[r][c].LowerBound) || cutKey(x[r][c].UpperBound) != cutKey(y[r][c].UpperBound) ||
					reflect.TypeOf(x[r][c].LowerBound) != reflect.TypeOf(y[r][c].LowerBound) ||
					reflect.TypeOf(x[r][c].UpperBound) != reflect.TypeOf(y[r][c].UpperBound) {
					return false
				}
			}
		}
	}
	return true
}

func cutKey(c sql.MySQLRangeCut) interface{} {
	switch c := c.(type) {
	case sql.Below:
		return c.Key
	case sql.Above:
		return c.Key
	}
	return nil
}
