package sqlserver

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// The process list as MySQL 8.0 shows it.
//
// GMS's process list knows only Command Query/Sleep/Connect and shows State "running" for
// every statement. processList wraps it with what the server's own threads are doing: a
// commit waiting for a semi-sync ACK is in State "Waiting for semi-sync ACK from replica"; a
// dump connection is Command "Binlog Dump" (COM_BINLOG_DUMP) or "Binlog Dump GTID"
// (COM_BINLOG_DUMP_GTID) with the dump thread's states (binlog.DumpState*). SHOW
// [FULL] PROCESSLIST is answered here so State is MySQL's; it also lists a replica's I/O and
// SQL threads as MySQL does ("system user", Command "Connect", the threads' states).
// information_schema.PROCESSLIST is replaced by a table with the same rows
// (processListTable).

// MySQL's states for the threads the server runs.
const (
	stateWaitingForAck = "Waiting for semi-sync ACK from replica"
)

// Command values MySQL shows for dump threads and replica threads.
const (
	commandBinlogDump     = "Binlog Dump"
	commandBinlogDumpGTID = "Binlog Dump GTID"
	commandConnect        = "Connect"
)

// procState is what a connection is doing when GMS's process list does not know it.
type procState struct {
	command string // "" keeps GMS's
	state   string
	since   time.Time // when command/state was set (the Time column)
}

// processList is sql.ProcessList with procStates. Safe for concurrent use.
type processList struct {
	sql.ProcessList
	mu     sync.Mutex
	states map[uint32]procState
	// threads: when each replica thread entered the state last seen.
	threads map[string]procState
}

var _ sql.ProcessList = (*processList)(nil)

func newProcessList(inner sql.ProcessList) *processList {
	return &processList{ProcessList: inner, states: map[uint32]procState{}, threads: map[string]procState{}}
}

// set records what connection id is doing; command "" keeps GMS's Command.
func (p *processList) set(id uint32, command, state string) {
	p.mu.Lock()
	p.states[id] = procState{command: command, state: state, since: time.Now()}
	p.mu.Unlock()
}

// setState changes connection id's state, keeping its command override.
func (p *processList) setState(id uint32, state string) {
	p.mu.Lock()
	st := p.states[id]
	st.state, st.since = state, time.Now()
	p.states[id] = st
	p.mu.Unlock()
}

// clear forgets connection id's override.
func (p *processList) clear(id uint32) {
	p.mu.Lock()
	delete(p.states, id)
	p.mu.Unlock()
}

// commandCount is how many connections have a Command override (dump threads).
func (p *processList) commandCount() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := uint64(0)
	for _, st := range p.states {
		if st.command != "" {
			n++
		}
	}
	return n
}

func (p *processList) lookup(id uint32) (procState, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.states[id]
	return st, ok
}

// Processes implements sql.ProcessList: GMS's processes with the Command overrides.
func (p *processList) Processes() []sql.Process {
	ps := p.ProcessList.Processes()
	for i := range ps {
		if st, ok := p.lookup(ps[i].Connection); ok && st.command != "" {
			ps[i].Command = sql.ProcessCommand(st.command)
			ps[i].StartedAt = st.since
		}
	}
	return ps
}

// RemoveConnection implements sql.ProcessList.
func (p *processList) RemoveConnection(connID uint32) {
	p.clear(connID)
	p.ProcessList.RemoveConnection(connID)
}

// waitObserver is the semi-sync source's wait observer: the committing session's State.
func (p *processList) waitObserver(ctx context.Context, waiting bool) {
	sc, ok := ctx.(*sql.Context)
	if !ok || sc.Session == nil {
		return
	}
	id := sc.Session.ID()
	if waiting {
		p.set(id, "", stateWaitingForAck)
	} else {
		p.clear(id)
	}
}

// threadSince returns when the replica thread named key entered state, as first observed.
func (p *processList) threadSince(key, state string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.threads[key]
	if !ok || st.state != state {
		st = procState{state: state, since: time.Now()}
		p.threads[key] = st
	}
	return st.since
}

// showProcessListSchema is SHOW PROCESSLIST's result (MySQL 8.0's columns).
var showProcessListSchema = sql.Schema{
	{Name: "Id", Type: types.Uint64},
	{Name: "User", Type: types.LongText},
	{Name: "Host", Type: types.LongText},
	{Name: "db", Type: types.LongText, Nullable: true},
	{Name: "Command", Type: types.LongText},
	{Name: "Time", Type: types.Int64},
	{Name: "State", Type: types.LongText, Nullable: true},
	{Name: "Info", Type: types.LongText, Nullable: true},
}

// Replica thread ids: the I/O and SQL threads are not connections, so they get ids above any
// connection id vitess hands out in practice.
const (
	replicaIOThreadID  = 1<<32 - 2
	replicaSQLThreadID = 1<<32 - 1
)

// processRows builds SHOW [FULL] PROCESSLIST: Info cut to 100 characters unless full, as
// MySQL does; NULL db and Info where MySQL shows NULL.
func (s *Server) processRows(ctx *sql.Context, full bool) []sql.Row {
	nullable := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	var rows []sql.Row
	for _, proc := range s.procs.Processes() {
		state := ""
		if st, ok := s.procs.lookup(proc.Connection); ok {
			state = st.state
		} else if proc.Command == sql.ProcessCommandQuery {
			state = "executing"
			if proc.Connection == ctx.Session.ID() {
				state = "init"
			}
		}
		info := proc.Query
		if proc.Command != sql.ProcessCommandQuery && state != stateWaitingForAck {
			info = ""
		}
		if !full && len(info) > 100 {
			info = info[:100]
		}
		host := proc.Host
		if s.handler != nil {
			// MySQL's Host for a TCP client is its address and port; GMS
			// keeps the account's host ("localhost").
			if h, ok := s.handler.clientHost(proc.Connection); ok {
				host = h
			}
		}
		rows = append(rows, sql.NewRow(uint64(proc.Connection), proc.User, host, nullable(proc.Database),
			string(proc.Command), int64(proc.Seconds()), state, nullable(info)))
	}
	if st, ok := s.replica.Status(); ok {
		now := time.Now()
		if st.IORunning != "No" {
			since := s.procs.threadSince("io", st.IOState)
			rows = append(rows, sql.NewRow(uint64(replicaIOThreadID), "system user", "", nil, commandConnect,
				int64(now.Sub(since)/time.Second), st.IOState, nil))
		}
		if st.SQLRunning == "Yes" {
			since := s.procs.threadSince("sql", st.SQLRunningState)
			rows = append(rows, sql.NewRow(uint64(replicaSQLThreadID), "system user", "", nil, commandConnect,
				int64(now.Sub(since)/time.Second), st.SQLRunningState, nil))
		}
	}
	return rows
}

// processListTable is information_schema.PROCESSLIST with SHOW FULL PROCESSLIST's rows
// (MySQL 8.0's columns and types, as GMS declares them), to put in
// information_schema.NewInformationSchemaTablesToAdd before the catalog is built.
func (s *Server) processListTable() *information_schema.InformationSchemaTable {
	str := func(n int64) sql.Type {
		return types.MustCreateString(sqltypes.VarChar, n, sql.Collation_Information_Schema_Default)
	}
	name := information_schema.ProcessListTableName
	schema := sql.Schema{
		{Name: "ID", Type: types.Uint64, Source: name},
		{Name: "USER", Type: str(32), Source: name},
		{Name: "HOST", Type: str(261), Source: name},
		{Name: "DB", Type: str(64), Nullable: true, Source: name},
		{Name: "COMMAND", Type: str(16), Source: name},
		{Name: "TIME", Type: types.Int32, Source: name},
		{Name: "STATE", Type: str(65535), Nullable: true, Source: name},
		{Name: "INFO", Type: str(65535), Nullable: true, Source: name},
	}
	return &information_schema.InformationSchemaTable{
		TableName:   name,
		TableSchema: schema,
		Reader: func(ctx *sql.Context, _ sql.Catalog) (sql.RowIter, error) {
			rows := s.processRows(ctx, true)
			for _, r := range rows {
				r[5] = int32(r[5].(int64))
			}
			return sql.RowsToRowIter(rows...), nil
		},
	}
}

// registerProcessList answers SHOW [FULL] PROCESSLIST.
func (s *Server) registerProcessList() {
	s.parser.RegisterStatement(
		func(p string) bool {
			w := strings.Fields(strings.ToUpper(wholeStatement(p)))
			return (len(w) == 2 && w[0] == "SHOW" && w[1] == "PROCESSLIST") ||
				(len(w) == 3 && w[0] == "SHOW" && w[1] == "FULL" && w[2] == "PROCESSLIST")
		},
		func(_ *sql.Context, q string) (ast.Statement, error) {
			full := strings.Contains(strings.ToUpper(q), "FULL")
			return Statement("SHOW PROCESSLIST", showProcessListSchema, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				return s.processRows(ctx, full), nil
			}), nil
		})
}
