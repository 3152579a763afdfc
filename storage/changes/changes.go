// Package changes is what a commit hands from the storage engine to the
// binlog: the transaction's changes (row images and DDL text) and the hook
// and ticket the commit pipeline calls. It has no code of its own beyond
// these types, so the binlog depends on them and not on the engine.
package changes

import (
	"context"

	"github.com/dolthub/go-mysql-server/sql"
)

// ChangeKind says what a Change did.
type ChangeKind uint8

const (
	// RowInsert adds After.
	RowInsert ChangeKind = iota + 1
	// RowUpdate replaces Before with After.
	RowUpdate
	// RowDelete removes Before.
	RowDelete
	// DDL is a schema statement, logged by its text.
	DDL
)

func (k ChangeKind) String() string {
	switch k {
	case RowInsert:
		return "insert"
	case RowUpdate:
		return "update"
	case RowDelete:
		return "delete"
	case DDL:
		return "ddl"
	}
	return "unknown"
}

// Change is one captured modification, in the order it happened.
type Change struct {
	Kind     ChangeKind
	Database string
	Table    string
	// Schema is the table's schema when the row change was made (row
	// changes only); Before/After follow its column order.
	Schema sql.Schema
	Before sql.Row
	After  sql.Row
	// Query is the statement text of a DDL change, and CurrentDB the
	// session's default database when it ran (MySQL logs both).
	Query     string
	CurrentDB string
}

// ChangeSet is everything one transaction changed, handed to the CommitHook
// at commit. Row changes of consecutive statements form one group; a DDL
// change stands alone, as MySQL logs DDL in its own transaction.
type ChangeSet struct {
	ConnectionID uint32
	Changes      []Change
	// GTID, when set ("uuid:number"), is the GTID the binlog must give this
	// transaction instead of a new one: a replica applying its source's
	// transaction keeps the source's GTID (MySQL's gtid_next).
	GTID string
}

// Empty reports whether the transaction changed nothing.
func (cs *ChangeSet) Empty() bool { return cs == nil || len(cs.Changes) == 0 }

// CommitHook receives every commit. The binlog implements it.
type CommitHook interface {
	// Append runs under the engine's commit lock, once per transaction that
	// changed anything, in commit order; it must not wait on the network. An
	// error aborts the commit: the transaction is rolled back and the error
	// reaches the client.
	Append(ctx context.Context, cs *ChangeSet) (CommitTicket, error)
}

// CommitTicket follows one appended commit through the rest of the pipeline.
type CommitTicket interface {
	// BeforePublish runs after the commit lock is released and before the
	// commit becomes visible to other sessions: the group fsync and the
	// semi-sync AFTER_SYNC wait belong here. It returns when the commit may
	// be published (a semi-sync timeout degrades to async). An error (the
	// fsync failed) means the commit is not durable: it is never published
	// and the client gets the error, not an OK.
	BeforePublish(ctx context.Context) error
	// AfterPublish runs once the commit is visible and before the client's
	// OK: the semi-sync AFTER_COMMIT wait belongs here.
	AfterPublish(ctx context.Context)
}
