package sqlserver

import (
	"context"
	"fmt"
	"github.com/dolthub/go-mysql-server/sql"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/sirupsen/logrus"
)

// handler wraps GMS's mysql.Handler. For every command it
//   - clears the session's warnings before each statement, as MySQL does (clearWarnings);
//   - turns GMS's catch-all 1105 errors into MySQL's codes and texts (mapError);
//   - recovers a panic, logs it with its stack, and answers 1105, so the connection and the
//     server keep serving;
//   - tracks open connections, so Close can end them;
//   - corrects results GMS sends differently from MySQL (resultFixer).
//
// It is installed through a server.Option, not server.InterceptorChain, because it must also
// implement mysql.BinlogReplicaHandler (docs/gms-notes.md §1.3).
type handler struct {
	mysql.Handler
	log  *logrus.Entry
	repl *replication

	mu      sync.Mutex
	conns   map[uint32]*mysql.Conn
	closing bool
	drained chan struct{} // closed when closing and the last connection ended

	sessions sync.Map                    // connection ID → sql.Session, for clearWarnings
	plans    *planCache                  // forgets a closed connection's plans
	limit    connLimit                   // max_connections
	fks      foreignKeyLookup            // describes a foreign key in 1451 and 1452
	tables   func(db, table string) bool // whether a committed table exists (1051 of DROP TABLE)
}

var (
	_ mysql.Handler              = (*handler)(nil)
	_ mysql.BinlogReplicaHandler = (*handler)(nil)
)

func newHandler(inner mysql.Handler, log *logrus.Entry) *handler {
	return &handler{
		Handler: inner,
		log:     log,
		conns:   make(map[uint32]*mysql.Conn),
		drained: make(chan struct{}),
	}
}

// NewConnection implements mysql.Handler.
func (h *handler) NewConnection(c *mysql.Conn) {
	h.mu.Lock()
	closing := h.closing
	if !closing {
		h.conns[c.ConnectionID] = c
	}
	h.mu.Unlock()
	if closing {
		c.Close()
	}
	if sc := shimOf(c); sc != nil {
		sc.vc = c // before vitess reads: the shim checks COM_STMT_EXECUTE against c.PrepareData
	}
	h.Handler.NewConnection(c)
}

// ConnectionClosed implements mysql.Handler.
func (h *handler) ConnectionClosed(c *mysql.Conn) {
	defer h.limit.release(c.ConnectionID)
	defer h.untrack(c)
	defer h.recoverTo(c, "", nil)
	h.Handler.ConnectionClosed(c)
}

// untrack forgets a closed connection and signals Close when it was the last one.
func (h *handler) untrack(c *mysql.Conn) {
	h.sessions.Delete(c.ConnectionID)
	if h.plans != nil {
		h.plans.forget(c.ConnectionID)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c.ConnectionID]; ok {
		delete(h.conns, c.ConnectionID)
		if h.closing && len(h.conns) == 0 {
			close(h.drained)
		}
	}
}

// closeAll cancels every open connection's running statement (through kill), closes its
// socket, and waits up to timeout for the connections' handlers to end. It returns how many
// were still running when it gave up.
func (h *handler) closeAll(timeout time.Duration, kill func(connID uint32)) int {
	h.mu.Lock()
	if !h.closing {
		h.closing = true
		if len(h.conns) == 0 {
			close(h.drained)
		}
	}
	for id, c := range h.conns {
		kill(id)
		c.Close()
	}
	h.mu.Unlock()
	select {
	case <-h.drained:
		return 0
	case <-time.After(timeout):
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.conns)
	}
}

// ConnectionAuthenticated implements mysql.Handler.
func (h *handler) ConnectionAuthenticated(c *mysql.Conn) (err error) {
	defer h.recoverTo(c, "", &err)
	if err := h.limit.admit(c); err != nil {
		return err
	}
	if err := h.Handler.ConnectionAuthenticated(c); err != nil {
		return h.finish(c, "", err)
	}
	if sc := shimOf(c); sc != nil {
		sc.startIdle(h.waitTimeout(c.ConnectionID)) // the session exists now
	}
	return nil
}

// ComInitDB implements mysql.Handler.
func (h *handler) ComInitDB(c *mysql.Conn, schemaName string) (err error) {
	defer endCommand(beginCommand(c))
	defer h.recoverTo(c, "", &err)
	return h.finish(c, "", h.Handler.ComInitDB(c, schemaName))
}

// ComQuery implements mysql.Handler.
func (h *handler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (err error) {
	defer endCommand(beginCommand(c))
	defer h.recoverTo(c, query, &err)
	h.clearWarnings(c, query)
	return h.finish(c, query, h.Handler.ComQuery(ctx, c, query, h.newFixer(c, query).spool(callback)))
}

// ComMultiQuery implements mysql.Handler.
func (h *handler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (remainder string, err error) {
	defer endCommand(beginCommand(c))
	defer h.recoverTo(c, query, &err)
	h.clearWarnings(c, query)
	remainder, err = h.Handler.ComMultiQuery(ctx, c, query, h.newFixer(c, query).spool(callback))
	return remainder, h.finish(c, query, err)
}

// ComPrepare implements mysql.Handler.
func (h *handler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) (fields []*querypb.Field, err error) {
	defer endCommand(beginCommand(c))
	defer h.recoverTo(c, query, &err)
	h.clearWarnings(c, query)
	if err := refuseManyParams(c, query, prepare); err != nil {
		return nil, err
	}
	fields, err = h.Handler.ComPrepare(ctx, c, query, prepare)
	prepareFields(fields)
	return fields, h.finish(c, query, err)
}

// ComStmtExecute implements mysql.Handler.
func (h *handler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) (err error) {
	defer endCommand(beginCommand(c))
	var query string
	if prepare != nil {
		query = prepare.PrepareStmt
	}
	defer h.recoverTo(c, query, &err)
	h.clearWarnings(c, query)
	f := h.newFixer(c, query)
	f.binary = true
	fixing := func(r *sqltypes.Result) error {
		f.fix(r)
		return callback(r)
	}
	return h.finish(c, query, h.Handler.ComStmtExecute(ctx, c, prepare, fixing))
}

// ComResetConnection implements mysql.Handler.
func (h *handler) ComResetConnection(c *mysql.Conn) (err error) {
	defer endCommand(beginCommand(c))
	defer h.recoverTo(c, "", &err)
	return h.finish(c, "", h.Handler.ComResetConnection(c))
}

// ComRegisterReplica implements mysql.BinlogReplicaHandler: the replica is
// recorded for SHOW REPLICAS.
func (h *handler) ComRegisterReplica(c *mysql.Conn, replicaHost string, replicaPort uint16, replicaUser string, replicaPassword string) (err error) {
	defer h.recoverTo(c, "", &err)
	return h.finish(c, "", h.repl.register(c, replicaHost, replicaPort))
}

// ComBinlogDumpGTID implements mysql.BinlogReplicaHandler: the dump
// service streams the binlog (COM_BINLOG_DUMP arrives here too, rewritten
// by the listener shim).
func (h *handler) ComBinlogDumpGTID(c *mysql.Conn, logFile string, logPos uint64, gtidSet mysql.GTIDSet) (err error) {
	defer h.recoverTo(c, "", &err)
	if sc := shimOf(c); sc != nil {
		defer sc.endDump()
	}
	return h.finish(c, "", h.repl.dump(c, logFile, logPos, gtidSet))
}

// finish maps err to MySQL's code and text, logging panics GMS recovered by itself.
func (h *handler) finish(c *mysql.Conn, query string, err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); strings.Contains(msg, panicRecoveredPrefix) {
		h.log.WithFields(logrus.Fields{
			"connection_id": c.ConnectionID,
			"query":         truncate(query, 512),
			"error":         msg,
		}).Error("panic while serving a statement")
	}
	var db string
	if s, ok := h.sessions.Load(c.ConnectionID); ok {
		db = s.(sql.Session).GetCurrentDatabase()
	}
	return mapError(tableNotFoundError(foreignKeyError(err, db, h.fks), db, query, h.tables), query)
}

// recoverTo turns a panic into a 1105 error in *errp (when errp is not nil) and logs it.
func (h *handler) recoverTo(c *mysql.Conn, query string, errp *error) {
	r := recover()
	if r == nil {
		return
	}
	fields := logrus.Fields{"panic": fmt.Sprint(r), "stack": string(debug.Stack())}
	if c != nil {
		fields["connection_id"] = c.ConnectionID
	}
	if query != "" {
		fields["query"] = truncate(query, 512)
	}
	h.log.WithFields(fields).Error("panic while serving a statement")
	if errp != nil {
		*errp = mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "internal error: %v", r)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// clientHost is SHOW PROCESSLIST's Host for connection id: "ip:port" of a TCP client.
func (h *handler) clientHost(id uint32) (string, bool) {
	h.mu.Lock()
	c, ok := h.conns[id]
	h.mu.Unlock()
	if !ok || c.Conn == nil {
		return "", false
	}
	addr, ok := c.Conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return "", false
	}
	return addr.String(), true
}

// maxPlaceholders is the most placeholders a prepared statement may have here: MySQL allows
// 65,535, vitess's COM_STMT_EXECUTE parser breaks from 65,529 on (README, differences).
const maxPlaceholders = 65528

// placeholders counts the ? placeholders of query (outside quotes and comments).
func placeholders(query string) int {
	if strings.Count(query, "?") <= maxPlaceholders {
		return 0 // cannot be too many
	}
	n := 0
	for _, t := range scanTokens(query, func(int, int, string) {}) {
		if t.text == "?" {
			n++
		}
	}
	return n
}
