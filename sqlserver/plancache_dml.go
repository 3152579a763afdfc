package sqlserver

import (
	"strconv"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// The plan cache's part for UPDATE and DELETE (sysbench's writes: UPDATE … SET k=k+1 WHERE
// id=?, UPDATE … SET c=? WHERE id=?, DELETE … WHERE id=?). GMS analyzes a single-table UPDATE
// or DELETE with a short list of batches of its own (getBatchesForNode: alwaysBeforeDefault,
// simpleUpdate/simpleDelete, onceAfterAll), never with the analyzer's wrapped batches, and
// most of that analysis is one rule: optimizeJoins costing the index scans for WHERE id=?.
//
// So the cache works at the two ends of that list:
//   - a rule in analyzer.AlwaysBeforeDefault (dmlAnswer) replaces the bound plan by a trusted
//     template rebound to the statement's literals: the index access is then already there,
//     and the rest of GMS's list still runs on it (the read-only checks, foreign keys,
//     optimizeJoins, which finds no filter left to cost, and onceAfterAll: triggers, exec
//     indexes, process tracking), so only the costing is skipped;
//   - a rule put first in analyzer.OnceAfterAll (dmlLearn) learns a template from, or
//     verifies one with, GMS's plan for a statement the cache did not answer.
//
// Templates are those of plancache.go (shape key, literal slots, one static index range,
// verification by a second execution with other values) with three additions:
//   - a literal whose value was the same in the learning and in the verifying execution (the
//     1 of k=k+1) is fixed: the template answers only for that value;
//   - the shape key has foreign_key_checks, and a template is made only of a plan without
//     foreign-key handlers, checks or RETURNING;
//   - a template is learned, verified and used only while the session sees the newest
//     committed definitions, and only under the definitions it was verified with
//     (definitionSequencer: any DDL committed anywhere retires it), so a column, key, check
//     or foreign key that appears later, here or on a table referencing this one, is always
//     seen by GMS's own analysis.

// definitionSequencer is storage.Session's DefinitionSeq.
type definitionSequencer interface {
	DefinitionSeq(ctx *sql.Context) (seq uint64, current bool)
}

// dmlCaches maps an analyzer to its server's plan cache: GMS's rule lists are package
// variables, shared by every server of the process.
var dmlCaches sync.Map // *analyzer.Analyzer → *planCache

var dmlRulesOnce sync.Once

// installDMLRules adds the cache's two rules to GMS's rule lists, once per process.
// AlwaysBeforeDefault must have a rule anyway: with one, GMS no longer analyzes simple selects
// with its own short list, which the cache runs itself (installPlanCache).
func installDMLRules() {
	dmlRulesOnce.Do(func() {
		analyzer.AlwaysBeforeDefault = append(analyzer.AlwaysBeforeDefault, analyzer.Rule{Id: planCacheRuleId, Apply: dmlAnswer})
		analyzer.OnceAfterAll = append([]analyzer.Rule{{Id: planCacheRuleId, Apply: dmlLearn}}, analyzer.OnceAfterAll...)
	})
}

// isSimpleDML is GMS's test for its short UPDATE and DELETE batch lists (getBatchesForNode).
func isSimpleDML(n sql.Node) bool {
	switch n := n.(type) {
	case *plan.Update:
		return n.HasSingleRel && !n.IsJoin
	case *plan.DeleteFrom:
		return !n.HasExplicitTargets() && n.RefsSingleRel
	}
	return false
}

func dmlAnswer(ctx *sql.Context, a *analyzer.Analyzer, n sql.Node, scope *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	v, ok := dmlCaches.Load(a)
	if !ok {
		return n, transform.SameTree, nil
	}
	if out, ok := v.(*planCache).answerDML(ctx, n, scope); ok {
		return out, transform.NewTree, nil
	}
	return n, transform.SameTree, nil
}

func dmlLearn(ctx *sql.Context, a *analyzer.Analyzer, n sql.Node, scope *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if v, ok := dmlCaches.Load(a); ok {
		v.(*planCache).learnDML(ctx, n, scope)
	}
	return n, transform.SameTree, nil
}

// answerDML returns a trusted template's plan for the bound UPDATE or DELETE n, or false
// (having marked n's analysis for learnDML when it can make or verify a template).
func (pc *planCache) answerDML(ctx *sql.Context, n sql.Node, scope *plan.Scope) (sql.Node, bool) {
	if pc.disabled.Load() || !scope.IsEmpty() || ctx.Session == nil || !isSimpleDML(n) {
		return nil, false
	}
	ds, ok := ctx.Session.(definitionSequencer)
	if !ok {
		return nil, false
	}
	sp := pc.session(ctx)
	sp.dml = nil
	var sb shapeBuilder
	if !sb.dml(ctx, n) {
		return nil, false
	}
	key := sb.b.String()
	t := sp.shapes[key]
	switch {
	case t == nil || t.state == tmplFailed:
		if t == nil && len(sp.shapes) >= maxTemplates {
			return nil, false
		}
		sp.dml = &pendingPlan{ctx: ctx, key: key, lits: sb.lits}
	case t.state == tmplLearned:
		sp.dml = &pendingPlan{ctx: ctx, key: key, lits: sb.lits, verify: t}
	case t.state == tmplVerified:
		seq, current := ds.DefinitionSeq(ctx)
		if !current {
			return nil, false
		}
		if seq != t.defSeq || !t.indexStillThere(ctx) {
			delete(sp.shapes, key)
			return nil, false
		}
		if !t.fixedMatch(sb.lits) {
			return nil, false
		}
		out, ok := t.rebind(ctx, sb.lits)
		if !ok {
			return nil, false
		}
		pc.hits.Add(1)
		pc.dmlHits.Add(1)
		return out, true
	}
	return nil, false
}

// learnDML is called with GMS's plan of an UPDATE or DELETE after its simpleUpdate or
// simpleDelete batch, before onceAfterAll.
func (pc *planCache) learnDML(ctx *sql.Context, analyzed sql.Node, scope *plan.Scope) {
	if ctx.Session == nil || !scope.IsEmpty() {
		return
	}
	sp := pc.sessionByID(ctx.Session.ID())
	if sp == nil {
		return
	}
	p := sp.dml
	sp.dml = nil
	if p == nil || p.ctx != ctx {
		return
	}
	ds, ok := ctx.Session.(definitionSequencer)
	if !ok {
		return
	}
	seq, current := ds.DefinitionSeq(ctx)
	if !current {
		return
	}
	if t := p.verify; t != nil && t.defSeq == seq {
		if len(p.lits) != len(t.values) {
			t.state = tmplRetired
			pc.refused.Add(1)
			return
		}
		fixed := make([]bool, len(p.lits))
		anyFixed := false
		for i, l := range p.lits {
			fixed[i] = l.Value() == t.values[i]
			anyFixed = anyFixed || fixed[i]
		}
		for _, cs := range t.cutSlots {
			for _, i := range cs {
				if i >= 0 && fixed[i] {
					return // the key did not change: wait for an execution that tells more
				}
			}
		}
		mine, ok := t.rebind(ctx, p.lits)
		if ok && samePlan(ctx, mine, analyzed) {
			t.state = tmplVerified
			if anyFixed {
				t.fixed = fixed
			}
			pc.verified.Add(1)
		} else {
			t.state = tmplRetired
			pc.refused.Add(1)
		}
		return
	}
	if t := pc.keep(ctx, sp, p, analyzed); t != nil {
		t.defSeq = seq
	}
}

// fixedMatch reports whether lits have the template's value at each of its fixed places.
func (t *planTemplate) fixedMatch(lits []*expression.Literal) bool {
	if len(lits) != len(t.values) {
		return false
	}
	for i, f := range t.fixed {
		if f && lits[i].Value() != t.values[i] {
			return false
		}
	}
	return true
}

// dml writes the shape key of a single-table UPDATE … SET … WHERE or DELETE … WHERE, with the
// session variables its analysis depends on, refusing anything outside the allow-list.
func (s *shapeBuilder) dml(ctx *sql.Context, n sql.Node) bool {
	s.b.Grow(320)
	var child sql.Node
	switch n := n.(type) {
	case *plan.Update:
		if n.IsProcNested || len(n.Returning) > 0 || len(n.Checks()) > 0 {
			return false
		}
		us, ok := n.Child.(*plan.UpdateSource)
		if !ok {
			return false
		}
		s.b.WriteString("U(")
		if n.Ignore || us.Ignore {
			s.b.WriteString("ignore,")
		}
		s.set = true
		for _, e := range us.UpdateExprs.AllExpressions() {
			if !s.expr(ctx, e) {
				return false
			}
			s.b.WriteByte(',')
		}
		s.set = false
		child = us.Child
	case *plan.DeleteFrom:
		if n.IsProcNested || len(n.Returning) > 0 {
			return false
		}
		for _, target := range n.GetDeleteTargets() {
			if _, ok := target.(*plan.ResolvedTable); !ok {
				return false
			}
		}
		s.b.WriteString("X(")
		child = n.Child
	default:
		return false
	}
	if _, ok := child.(*plan.Filter); !ok {
		return false // without WHERE there is no index access to cache
	}
	if !s.node(ctx, child) {
		return false
	}
	s.b.WriteByte(')')
	s.vars(ctx)
	s.b.WriteString("|fk")
	if v, err := ctx.GetSessionVariable(ctx, "foreign_key_checks"); err == nil {
		switch v := v.(type) {
		case int8:
			s.b.WriteString(strconv.Itoa(int(v)))
		case int64:
			s.b.WriteString(strconv.FormatInt(v, 10))
		default:
			s.b.WriteString(typeName(v))
		}
	}
	return true
}
