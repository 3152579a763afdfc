package storage

import (
	"context"

	"github.com/semisyncd/semisyncd/storage/changes"
)

// The change-capture types live in storage/changes (the binlog imports
// them without the engine); these aliases keep the engine's own names.
type (
	ChangeKind   = changes.ChangeKind
	Change       = changes.Change
	ChangeSet    = changes.ChangeSet
	CommitHook   = changes.CommitHook
	CommitTicket = changes.CommitTicket
)

// The kinds of Change.
const (
	RowInsert = changes.RowInsert
	RowUpdate = changes.RowUpdate
	RowDelete = changes.RowDelete
	DDL       = changes.DDL
)

// noHook is the CommitHook of an engine without a binlog.
type noHook struct{}

func (noHook) Append(context.Context, *ChangeSet) (CommitTicket, error) { return nil, nil }
