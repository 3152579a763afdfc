// Package binlogsample writes a small real binlog with our own writer, for tests that need
// realistic events: the fuzz targets' seed corpora take their valid inputs from it.
package binlogsample

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/sirupsen/logrus"
)

// SourceUUID is the server_uuid of the sample's GTIDs.
const SourceUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// Schema is the sample table d.t's schema: an INT primary key, a TEXT, a DATETIME(6), a
// DECIMAL(10,2), a JSON and a nullable BLOB.
var Schema = sql.Schema{
	{Name: "id", Type: types.Int32, PrimaryKey: true, Source: "t", DatabaseSource: "d"},
	{Name: "s", Type: types.Text, Nullable: true, Source: "t", DatabaseSource: "d"},
	{Name: "ts", Type: types.DatetimeMaxPrecision, Nullable: true, Source: "t", DatabaseSource: "d"},
	{Name: "dec", Type: types.MustCreateDecimalType(10, 2), Nullable: true, Source: "t", DatabaseSource: "d"},
	{Name: "j", Type: types.JSON, Nullable: true, Source: "t", DatabaseSource: "d"},
	{Name: "b", Type: types.Blob, Nullable: true, Source: "t", DatabaseSource: "d"},
}

// Write writes the sample binlog into dir (binlog.000001, with CRC32 checksums when checksum)
// and returns the file's path: CREATE DATABASE, CREATE TABLE, a two-row insert, an update and a
// delete, each its own transaction.
func Write(dir string, checksum bool) (string, error) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	w, err := binlog.Open(binlog.Config{Dir: dir, ServerID: 7, ServerUUID: SourceUUID, Checksum: checksum, SyncBinlog: 1, Log: logrus.NewEntry(log)}, nil)
	if err != nil {
		return "", err
	}
	ts := time.Date(2024, 2, 29, 12, 34, 56, 789000000, time.UTC)
	j := types.MustJSON(`{"a":[1,{"b":[true,null,"x",-70000,2.5]}],"c":"d"}`)
	r1 := sql.Row{int32(1), "one", ts, apd.New(1250, -2), j, []byte{0, 1, 2, 0xff}}
	r2 := sql.Row{int32(2), nil, nil, nil, nil, nil}
	r1b := sql.Row{int32(1), "uno", ts, apd.New(-1, -2), j, nil}
	row := func(k changes.ChangeKind, before, after sql.Row) changes.Change {
		return changes.Change{Kind: k, Database: "d", Table: "t", Schema: Schema, Before: before, After: after}
	}
	sets := []*changes.ChangeSet{
		{ConnectionID: 3, Changes: []changes.Change{{Kind: changes.DDL, Query: "CREATE DATABASE d", CurrentDB: ""}}},
		{ConnectionID: 3, Changes: []changes.Change{{Kind: changes.DDL, Query: "CREATE TABLE t (id INT PRIMARY KEY, s TEXT, ts DATETIME(6), `dec` DECIMAL(10,2), j JSON, b BLOB)", CurrentDB: "d"}}},
		{ConnectionID: 3, Changes: []changes.Change{row(changes.RowInsert, nil, r1), row(changes.RowInsert, nil, r2)}},
		{ConnectionID: 3, Changes: []changes.Change{row(changes.RowUpdate, r1, r1b)}},
		{ConnectionID: 3, Changes: []changes.Change{row(changes.RowDelete, r2, nil)}},
	}
	ctx := context.Background()
	for _, cs := range sets {
		tk, err := w.Append(ctx, cs)
		if err != nil {
			w.Close()
			return "", err
		}
		if err := tk.BeforePublish(ctx); err != nil {
			w.Close()
			return "", err
		}
		tk.AfterPublish(ctx)
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return filepath.Join(dir, "binlog.000001"), nil
}

// Events returns the events of the binlog file at path, in order (each with its checksum when
// the file has them), and whether the file has checksums.
func Events(path string) ([][]byte, bool, error) {
	fr, err := binlog.OpenFile(path)
	if err != nil {
		return nil, false, err
	}
	defer fr.Close()
	var out [][]byte
	for {
		ev, _, err := fr.Next()
		if err == io.EOF {
			return out, fr.Checksum(), nil
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, append([]byte(nil), ev...))
	}
}
