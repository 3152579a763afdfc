package storage

import (
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// gmsSchema is the schema handed to GMS (Table.Schema): ts.schema, except
// that a DEFAULT, generated or ON UPDATE expression that reads columns is
// given unresolved (its SQL text, table names stripped), as GMS's own
// engines keep them. GMS resolves such expressions itself wherever it binds
// the table; its foreign-key cascade re-resolves the child's schema and then
// shifts every column index of the result by one in place, so an expression
// handed to it resolved would come back pointing at the wrong column (index
// -1 for the first one), and the engine's own copy would be corrupted.
//
// The result is cached per schema version; callers must not modify it.
func (ts *tableState) gmsSchema() sql.Schema {
	if ts.gms != nil {
		if c := ts.gms.Load(); c != nil && sameColumns(c.src, ts.schema) {
			return c.out
		}
	}
	out := ts.schema
	for i, col := range ts.schema {
		def, gen, upd := unresolvedIfReadsColumns(col.Default), unresolvedIfReadsColumns(col.Generated), unresolvedIfReadsColumns(col.OnUpdate)
		if def == col.Default && gen == col.Generated && upd == col.OnUpdate {
			continue
		}
		if &out[0] == &ts.schema[0] {
			out = append(sql.Schema(nil), ts.schema...)
		}
		cp := *col
		cp.Default, cp.Generated, cp.OnUpdate = def, gen, upd
		out[i] = &cp
	}
	if ts.gms != nil {
		ts.gms.Store(&schemaCache{src: ts.schema, out: out})
	}
	return out
}

// schemaCache pairs a schema version with the schema GMS is given for it.
type schemaCache struct{ src, out sql.Schema }

// gmsSchemaCache is shared by the clones of a table version; an entry is
// used only for the schema it was made from.
type gmsSchemaCache = atomic.Pointer[schemaCache]

func sameColumns(a, b sql.Schema) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// unresolvedIfReadsColumns returns d itself, or, when d's expression reads
// a column, d as unresolved SQL text.
func unresolvedIfReadsColumns(d *sql.ColumnDefaultValue) *sql.ColumnDefaultValue {
	if d == nil || d.Expr == nil {
		return d
	}
	if _, ok := d.Expr.(*sql.UnresolvedColumnDefault); ok {
		return d
	}
	reads := false
	transform.InspectExpr(cmpCtx, d.Expr, func(_ *sql.Context, e sql.Expression) bool {
		if _, ok := e.(*expression.GetField); ok {
			reads = true
		}
		return reads
	})
	if !reads {
		return d
	}
	stripped, _, err := transform.Expr(cmpCtx, d, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
		if gf, ok := e.(*expression.GetField); ok {
			ne := expression.NewGetField(gf.Index(), gf.Type(ctx), gf.Name(), gf.IsNullable(ctx))
			return ne.WithQuotedNames(sql.DefaultMySQLSchemaFormatter, gf.IsQuotedIdentifier()), transform.NewTree, nil
		}
		return e, transform.SameTree, nil
	})
	if err != nil {
		return d
	}
	return sql.NewUnresolvedColumnDefaultValue(stripped.String())
}
