package storage

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
)

// ApplyRowChange applies one row event (binlog replay, the replica's SQL
// thread) in ctx's transaction, by full row images rather than SQL text:
// RowInsert adds After; RowUpdate finds Before by primary key (every column
// for keyless tables) and replaces it with After; RowDelete removes Before.
// A missing row gives error 1032 and a duplicate key 1062, MySQL's errors
// for a replica's conflicts. The change is captured like any other, so a
// replica with log_replica_updates writes it to its own binlog.
func (s *Session) ApplyRowChange(ctx *sql.Context, ch Change) error {
	tx := txnFor(ctx, s.eng)
	if tx.sess == nil {
		return fmt.Errorf("storage: ApplyRowChange needs a transaction on this session")
	}
	var err error
	switch ch.Kind {
	case RowInsert:
		err = tx.insertRow(ctx, ch.Database, ch.Table, ch.After)
	case RowUpdate:
		err = tx.updateRow(ctx, ch.Database, ch.Table, ch.Before, ch.After)
	case RowDelete:
		err = tx.deleteRow(ctx, ch.Database, ch.Table, ch.Before)
	default:
		return fmt.Errorf("storage: ApplyRowChange cannot apply a %v change", ch.Kind)
	}
	if err != nil {
		return err
	}
	// The table's FULLTEXT indexes follow (their rows are never logged).
	return s.applyFulltext(ctx, ch)
}

// TableSchema returns the schema of db.table as ctx's transaction sees it,
// for decoding row events; ok is false when the table does not exist.
func (s *Session) TableSchema(ctx *sql.Context, db, table string) (sql.PrimaryKeySchema, bool) {
	ts := txnFor(ctx, s.eng).table(db, table)
	if ts == nil {
		return sql.PrimaryKeySchema{}, false
	}
	return sql.NewPrimaryKeySchema(ts.schema, ts.pkOrds...), true
}
