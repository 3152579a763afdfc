package sqlserver

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// replicasTableName is information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS: one row per replica
// that has dumped from this server since it started (by server_id), with what the semi-sync
// source knows of it. MySQL has no such table; the name follows its plugin tables'
// convention (the plugin's name, then what the rows are), and the columns its
// performance_schema replication tables'. README.md documents the columns.
const replicasTableName = "rpl_semi_sync_source_replicas"

var replicasTableColumns = []struct {
	name     string
	typ      sql.Type
	nullable bool
}{
	{"SERVER_ID", types.Uint32, false},
	{"HOST", types.MustCreateString(sqltypes.VarChar, 255, sql.Collation_Information_Schema_Default), true},
	{"PORT", types.Uint32, true},
	{"SEMI_SYNC", types.MustCreateString(sqltypes.VarChar, 3, sql.Collation_Information_Schema_Default), false},
	{"CONNECTED", types.MustCreateString(sqltypes.VarChar, 3, sql.Collation_Information_Schema_Default), false},
	{"ACKED_LOG_FILE", types.MustCreateString(sqltypes.VarChar, 512, sql.Collation_Information_Schema_Default), true},
	{"ACKED_LOG_POS", types.Uint64, true},
	{"UNACKED_EVENTS", types.Uint64, true},
	{"UNACKED_BYTES", types.Uint64, true},
	{"LAST_ACK_TIMESTAMP", types.MustCreateDatetimeType(sqltypes.Datetime, 6), true},
	{"ACK_LATENCY_P50_USEC", types.Uint64, true},
	{"ACK_LATENCY_P99_USEC", types.Uint64, true},
	{"RECONNECTS", types.Uint64, false},
}

// replicasTable builds information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS; its rows are read
// from the server's semi-sync source when queried.
func (s *Server) replicasTable() *information_schema.InformationSchemaTable {
	schema := make(sql.Schema, len(replicasTableColumns))
	for i, c := range replicasTableColumns {
		schema[i] = &sql.Column{Name: c.name, Type: c.typ, Nullable: c.nullable, Source: replicasTableName}
	}
	return &information_schema.InformationSchemaTable{
		TableName:   replicasTableName,
		TableSchema: schema,
		Reader: func(*sql.Context, sql.Catalog) (sql.RowIter, error) {
			return sql.RowsToRowIter(s.replicaRows()...), nil
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// replicaRows are the table's rows: NULL where nothing is known (no ACK yet, an asynchronous
// replica's ACK columns, no registration).
func (s *Server) replicaRows() []sql.Row {
	var rows []sql.Row
	for _, st := range s.source.Replicas() {
		var host, port any
		if ri, ok := s.repl.knownReplica(st.ServerID); ok {
			host, port = ri.Host, uint32(ri.Port)
		}
		var file, pos, lastAck, p50, p99, evs, bytes any
		if st.HasAck {
			file, pos, lastAck = st.AckedPos.File, st.AckedPos.Pos, st.LastAck.UTC()
		}
		if st.HasLatency {
			p50, p99 = uint64(st.AckLatencyP50.Microseconds()), uint64(st.AckLatencyP99.Microseconds())
		}
		if st.SemiSync && st.Connected {
			evs, bytes = st.UnackedEvents, st.UnackedBytes
		}
		rows = append(rows, sql.NewRow(st.ServerID, host, port, yesNo(st.SemiSync), yesNo(st.Connected),
			file, pos, evs, bytes, lastAck, p50, p99, st.Reconnects))
	}
	return rows
}
