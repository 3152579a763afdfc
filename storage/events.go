package storage

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// Events are catalog objects like procedures: a database's definitions are
// part of its metadata (dbState.events), changed under the metadata lock
// in the calling transaction, binlogged as the CREATE / ALTER / DROP EVENT
// statement that made them and written to checkpoints whole. GMS's event
// scheduler reads them through sql.EventDatabase and runs the enabled ones.
//
// Replicated events: a definition saved by a session marked replicated
// (the replica's SQL thread, or binlog replay of a transaction that came
// from another server) is stored with status DISABLE ON SLAVE (SHOW EVENTS:
// SLAVESIDE_DISABLED) whatever its statement says, as MySQL does, so a replica
// never runs its source's events; ALTER EVENT … ENABLE on the replica (after
// a promotion) enables it.

var (
	_ sql.EventDatabase           = (*Database)(nil)
	_ sql.QuiescableEventDatabase = (*Database)(nil)
)

// GetEvent implements sql.EventDatabase.
func (d *Database) GetEvent(ctx *sql.Context, name string) (sql.EventDefinition, bool, error) {
	ev, ok := d.readMeta(ctx).events[strings.ToLower(name)]
	return ev, ok, nil
}

// GetEvents implements sql.EventDatabase: every event, by name. The token
// is nil: events change only through this interface.
func (d *Database) GetEvents(ctx *sql.Context) ([]sql.EventDefinition, interface{}, error) {
	m := d.readMeta(ctx)
	out := make([]sql.EventDefinition, 0, len(m.events))
	for _, ev := range m.events {
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil, nil
}

// SaveEvent implements sql.EventDatabase: sql.ErrEventAlreadyExists (1537)
// when the name is taken. It reports whether the stored event is enabled.
func (d *Database) SaveEvent(ctx *sql.Context, ed sql.EventDefinition) (bool, error) {
	m, err := d.meta(ctx)
	if err != nil {
		return false, err
	}
	key := strings.ToLower(ed.Name)
	if _, ok := m.events[key]; ok {
		return false, sql.ErrEventAlreadyExists.New(ed.Name)
	}
	ed = replicatedStatus(ctx, ed)
	m.events[key] = ed
	txnFor(ctx, d.eng).recordDDL(ctx)
	return ed.Status == sql.EventStatus_Enable.String(), nil
}

// UpdateEvent implements sql.EventDatabase (ALTER EVENT, and the scheduler
// recording an execution or disabling an ended event): the event named
// originalName becomes ed, which may rename it. Changes the scheduler makes
// (no statement text) are not binlogged, as MySQL's updates of mysql.event
// by the scheduler are not.
func (d *Database) UpdateEvent(ctx *sql.Context, originalName string, ed sql.EventDefinition) (bool, error) {
	m, err := d.meta(ctx)
	if err != nil {
		return false, err
	}
	oldKey, newKey := strings.ToLower(originalName), strings.ToLower(ed.Name)
	if _, ok := m.events[oldKey]; !ok {
		return false, sql.ErrEventDoesNotExist.New(originalName)
	}
	if oldKey != newKey {
		if _, ok := m.events[newKey]; ok {
			return false, sql.ErrEventAlreadyExists.New(ed.Name)
		}
	}
	ed = replicatedStatus(ctx, ed)
	delete(m.events, oldKey)
	m.events[newKey] = ed
	txnFor(ctx, d.eng).recordDDL(ctx)
	return ed.Status == sql.EventStatus_Enable.String(), nil
}

// DropEvent implements sql.EventDatabase: sql.ErrEventDoesNotExist (1539)
// when absent. The scheduler dropping an ended event (no statement text)
// binlogs DROP EVENT IF EXISTS, as MySQL does, so replicas drop their copy.
func (d *Database) DropEvent(ctx *sql.Context, name string) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(name)
	ev, ok := m.events[key]
	if !ok {
		return sql.ErrEventDoesNotExist.New(name)
	}
	delete(m.events, key)
	tx := txnFor(ctx, d.eng)
	if strings.TrimSpace(ctx.Query()) == "" {
		tx.record(Change{Kind: DDL, Query: fmt.Sprintf("DROP EVENT IF EXISTS %s.%s", quoteName(d.name), quoteName(ev.Name)), CurrentDB: d.name})
	} else {
		tx.recordDDL(ctx)
	}
	return nil
}

// UpdateLastExecuted implements sql.EventDatabase; not binlogged.
func (d *Database) UpdateLastExecuted(ctx *sql.Context, eventName string, lastExecuted time.Time) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(eventName)
	ev, ok := m.events[key]
	if !ok {
		return sql.ErrEventDoesNotExist.New(eventName)
	}
	ev.LastExecuted = lastExecuted.Round(0)
	m.events[key] = ev
	return nil
}

// NeedsToReloadEvents implements sql.EventDatabase: never, events change
// only through this interface.
func (d *Database) NeedsToReloadEvents(*sql.Context, interface{}) (bool, error) { return false, nil }

// QuiescableEvents implements sql.QuiescableEventDatabase: the scheduler
// may sleep while no event exists.
func (d *Database) QuiescableEvents() bool { return true }

// replicatedStatus marks an event saved by a replicated session DISABLE ON
// SLAVE, whatever status the statement gave (MySQL: "the status of the
// event is set on the replica to SLAVESIDE_DISABLED regardless of the
// state specified").
// It also drops the times' monotonic clock readings: a stored definition
// holds wall-clock times only, as a checkpoint restores them.
func replicatedStatus(ctx *sql.Context, ed sql.EventDefinition) sql.EventDefinition {
	for _, t := range []*time.Time{&ed.CreatedAt, &ed.LastAltered, &ed.LastExecuted, &ed.ExecuteAt, &ed.Starts, &ed.Ends} {
		*t = t.Round(0)
	}
	if s, ok := ctx.Session.(*Session); ok && s.replicated {
		ed.Status = sql.EventStatus_DisableOnSlave.String()
	}
	return ed
}

// SetReplicated marks the session as applying another server's
// transactions: events it creates or alters are stored disabled on this
// server (SLAVESIDE_DISABLED).
func (s *Session) SetReplicated(on bool) { s.replicated = on }
