package checkpoint

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/semisyncd/semisyncd/binlog"
)

// tableInfo is what restore knows of a table once its CREATE TABLE ran:
// its binlog column definitions, its next AUTO_INCREMENT value and its
// schema as restored (nil: the table was not found after creating it).
type tableInfo struct {
	cols    []binlog.ColumnDef
	autoInc uint64
	sch     sql.Schema
}

// rowLoader decodes the row records of a checkpoint on worker goroutines
// while the file is read, and loads each chunk into the Target in file
// order on one goroutine (the primary tree takes rows in key order by its
// bulk append). At most maxChunks chunks are held at a time, so memory
// stays bounded whatever the file's size. Its methods (add, wait, close)
// are called from the one goroutine reading the file.
type rowLoader struct {
	t  Target
	st *Stats

	work    chan *chunkJob // to the decoders
	ordered chan *chunkJob // to the loader, in file order
	free    chan []byte    // payload buffers to reuse
	wg      sync.WaitGroup
	closed  bool

	// mu guards err; it is a leaf (nothing else is locked or waited for
	// under it).
	mu  sync.Mutex
	err error // the first error of a decoder or the loader
}

// chunkJob is one row record: its payload (copied: the reader reuses its
// buffer) and, once decoded, its rows. A barrier chunk (barrier non-nil)
// carries no rows: the loader closes it when every chunk before it is
// loaded.
type chunkJob struct {
	db, table string
	info      *tableInfo
	n         uint64
	data      []byte
	rows      []sql.Row
	err       error
	decoded   chan struct{}
	barrier   chan struct{}
}

// maxChunks bounds the chunks decoded ahead of the loader.
const maxChunks = 4

func newRowLoader(t Target, st *Stats) *rowLoader {
	rl := &rowLoader{
		t:       t,
		st:      st,
		work:    make(chan *chunkJob, maxChunks),
		ordered: make(chan *chunkJob, maxChunks),
		free:    make(chan []byte, maxChunks),
	}
	workers := min(runtime.GOMAXPROCS(0), 4)
	for i := 0; i < workers; i++ {
		rl.wg.Add(1)
		go rl.decode()
	}
	rl.wg.Add(1)
	go rl.load()
	return rl
}

// add queues a row record's rows (data: n encoded rows) for decoding and
// loading. It blocks while maxChunks chunks are in flight, and returns
// the first error a decoder or the loader met so far.
func (rl *rowLoader) add(db, table string, info *tableInfo, n uint64, data []byte) error {
	if err := rl.failed(); err != nil {
		return err
	}
	var buf []byte
	select {
	case buf = <-rl.free:
	default:
	}
	c := &chunkJob{db: db, table: table, info: info, n: n, data: append(buf[:0], data...), decoded: make(chan struct{})}
	rl.ordered <- c
	rl.work <- c
	return nil
}

// wait returns once every chunk added so far is loaded, with the first
// error of any.
func (rl *rowLoader) wait() error {
	b := &chunkJob{barrier: make(chan struct{})}
	rl.ordered <- b
	<-b.barrier
	return rl.failed()
}

// close waits for the chunks in flight, stops the goroutines and returns
// the first error.
func (rl *rowLoader) close() error {
	if rl.closed {
		return rl.failed()
	}
	rl.closed = true
	close(rl.work)
	close(rl.ordered)
	rl.wg.Wait()
	return rl.failed()
}

func (rl *rowLoader) failed() error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.err
}

func (rl *rowLoader) fail(err error) {
	rl.mu.Lock()
	if rl.err == nil {
		rl.err = err
	}
	rl.mu.Unlock()
}

// decode is a decoder goroutine.
func (rl *rowLoader) decode() {
	defer rl.wg.Done()
	for c := range rl.work {
		c.rows, c.err = decodeRows(c)
		close(c.decoded)
	}
}

// decodeRows decodes a chunk's rows.
func decodeRows(c *chunkJob) ([]sql.Row, error) {
	rows := make([]sql.Row, 0, c.n)
	data := c.data
	for i := uint64(0); i < c.n; i++ {
		row, used, err := binlog.DecodeRow(data, c.info.cols, c.info.sch, nil)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s.%s row %d: %w", c.db, c.table, i, err)
		}
		rows = append(rows, row)
		data = data[used:]
	}
	return rows, nil
}

// load is the loader goroutine: chunks in file order into the Target.
// After an error it only drains (and closes barriers).
func (rl *rowLoader) load() {
	defer rl.wg.Done()
	for c := range rl.ordered {
		if c.barrier != nil {
			close(c.barrier)
			continue
		}
		<-c.decoded
		if rl.failed() == nil {
			if c.err != nil {
				rl.fail(c.err)
			} else if err := rl.t.LoadRows(c.db, c.table, c.rows, c.info.autoInc); err != nil {
				rl.fail(err)
			} else {
				rl.st.Rows += len(c.rows)
			}
		}
		select {
		case rl.free <- c.data:
		default:
		}
		c.rows, c.data = nil, nil
	}
}
