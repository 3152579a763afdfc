package sqlserver

import (
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// Server status variables that GMS declares but never moves, kept here as MySQL 8.0 keeps them.
//
// GMS's registry (sql.StatusVariables) lists every MySQL status variable, but Uptime, Queries,
// Bytes_sent and most Com_* stay 0, and it lists both validate_password.dictionary_file_* and
// the pre-8.0.18 validate_password_dictionary_file_*, which mysqld_exporter maps to one metric
// name (a scrape then fails). serverStatus counts what the server does — from the wire (bytes,
// COM_QUIT), from the commands the handler serves (statements by kind) and from the clock —
// and statusOverlay shows those values in place of GMS's, over whatever registry is installed
// (sysvars' one, which adds the Rpl_semi_sync_* variables).
//
// Scope: the values are global (SHOW GLOBAL STATUS, what monitoring reads); a session's own
// Bytes_sent, Bytes_received and Queries count its connection (SHOW [SESSION] STATUS), its
// other counters are GMS's. Cost: two atomic adds per read/write on a socket and per
// statement.
type serverStatus struct {
	started atomic.Int64 // unix nanos of the start
	flushed atomic.Int64 // unix nanos of the last FLUSH STATUS (0: never)

	bytesSent, bytesReceived atomic.Uint64
	questions, queries       atomic.Uint64
	abortedClients           atomic.Uint64
	threadsCreated           atomic.Uint64
	sslAccepts               atomic.Uint64 // TLS handshakes begun (Ssl_accepts)
	sslFinishedAccepts       atomic.Uint64 // TLS handshakes completed (Ssl_finished_accepts)

	// connected follows Threads_connected; maxUsed is its peak since the start or the last
	// FLUSH STATUS (Max_used_connections), raised in the same call that registers a
	// connection. (GMS raises its own copy from a goroutine it starts per connection, which
	// may run after the connection closed, and reads then writes without a lock.)
	connected atomic.Int64
	maxUsed   atomic.Uint64
	maxUsedAt atomic.Int64 // unix nanos maxUsed was last raised (Max_used_connections_time)

	com map[string]*atomic.Uint64 // Com_* by name: the names GMS lists, fixed at start

	// busy counts the connections that run without a statement GMS knows of (dumps): MySQL
	// counts them in Threads_running. Nil: none.
	busy func() uint64
}

func newServerStatus() *serverStatus {
	st := &serverStatus{com: map[string]*atomic.Uint64{}}
	st.started.Store(time.Now().UnixNano())
	if sql.StatusVariables != nil {
		for name := range baseStatus(sql.StatusVariables).NewGlobalMap() {
			if strings.HasPrefix(name, "Com_") {
				st.com[name] = new(atomic.Uint64)
			}
		}
	}
	return st
}

// countCom adds one to each named Com_* counter that exists.
func (st *serverStatus) countCom(names ...string) {
	for _, n := range names {
		if c, ok := st.com[n]; ok {
			c.Add(1)
		}
	}
}

// statement counts one statement a client sent on c (Questions, Queries, its Com_*).
func (st *serverStatus) statement(c *mysql.Conn, text string) {
	st.questions.Add(1)
	st.query(c)
	st.countCom(comNames(text)...)
}

// flush is FLUSH STATUS: Uptime_since_flush_status starts again.
// As MySQL's FLUSH STATUS, it sets Max_used_connections to the connections open now.
func (st *serverStatus) flush() {
	now := time.Now().UnixNano()
	st.flushed.Store(now)
	n := st.connected.Load()
	if n < 0 {
		n = 0
	}
	st.maxUsed.Store(uint64(n))
	st.maxUsedAt.Store(now)
}

// connectionsChanged adds delta to the open connections and raises Max_used_connections to
// a new peak.
func (st *serverStatus) connectionsChanged(delta int) {
	n := st.connected.Add(int64(delta))
	if n <= 0 {
		return
	}
	for {
		m := st.maxUsed.Load()
		if uint64(n) <= m {
			return
		}
		if st.maxUsed.CompareAndSwap(m, uint64(n)) {
			st.maxUsedAt.Store(time.Now().UnixNano())
			return
		}
	}
}

// value returns the value statusOverlay shows for name in place of GMS's, if it has one.
func (st *serverStatus) value(name string) (any, bool) {
	switch name {
	case "Uptime", "Uptime_since_flush_status":
		now := time.Now()
		since := time.Unix(0, st.started.Load())
		if f := st.flushed.Load(); name == "Uptime_since_flush_status" && f > since.UnixNano() {
			since = time.Unix(0, f)
		}
		return uint64(now.Sub(since) / time.Second), true
	case "Bytes_sent":
		return st.bytesSent.Load(), true
	case "Bytes_received":
		return st.bytesReceived.Load(), true
	case "Questions":
		return st.questions.Load(), true
	case "Queries":
		return st.queries.Load(), true
	case "Aborted_clients":
		return st.abortedClients.Load(), true
	case "Threads_created":
		return st.threadsCreated.Load(), true
	case "Threads_cached":
		return uint64(0), true
	case "Max_used_connections":
		return st.maxUsed.Load(), true
	case "Max_used_connections_time":
		if at := st.maxUsedAt.Load(); at != 0 {
			return time.Unix(0, at).Format(time.DateTime), true
		}
		return "", true
	case "Ssl_accepts":
		return st.sslAccepts.Load(), true
	case "Ssl_finished_accepts":
		return st.sslFinishedAccepts.Load(), true
	}
	if c, ok := st.com[name]; ok {
		return c.Load(), true
	}
	return nil, false
}

// hiddenStatus reports whether GMS's variable name is left out of SHOW STATUS: the
// validate_password component's variables (the component is not there, as in a default MySQL
// 8.0, and GMS lists them under both the component's and the old plugin's names).
func hiddenStatus(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "validate_password")
}

// statusOverlay is sql.StatusVariables with serverStatus's values.
type statusOverlay struct {
	inner sql.StatusVariableRegistry
	st    *serverStatus
}

var _ sql.StatusVariableRegistry = (*statusOverlay)(nil)

// baseStatus returns r without a statusOverlay on top.
func baseStatus(r sql.StatusVariableRegistry) sql.StatusVariableRegistry {
	for {
		o, ok := r.(*statusOverlay)
		if !ok {
			return r
		}
		r = o.inner
	}
}

// removeStatusOverlay takes the overlay off sql.StatusVariables (before another registry is
// installed under it), so servers started one after another in a process do not stack them.
func removeStatusOverlay() {
	if sql.StatusVariables != nil {
		sql.StatusVariables = baseStatus(sql.StatusVariables)
	}
}

// installStatusOverlay puts st's values over the installed registry.
func installStatusOverlay(st *serverStatus) {
	sql.StatusVariables = &statusOverlay{inner: baseStatus(sql.StatusVariables), st: st}
}

// NewSessionMap implements sql.StatusVariableRegistry.
func (o *statusOverlay) NewSessionMap() map[string]sql.StatusVarValue {
	m := o.inner.NewSessionMap()
	for name := range m {
		if hiddenStatus(name) {
			delete(m, name)
		}
	}
	return m
}

// NewGlobalMap implements sql.StatusVariableRegistry.
func (o *statusOverlay) NewGlobalMap() map[string]sql.StatusVarValue {
	m := o.inner.NewGlobalMap()
	for name := range m {
		if hiddenStatus(name) {
			delete(m, name)
		}
	}
	for name, cur := range m {
		if val, ok := o.st.value(name); ok {
			m[name] = &sql.ImmutableStatusVarValue{Var: cur.Variable(), Val: val}
		}
	}
	if cur, ok := m["Threads_running"]; ok && o.st.busy != nil {
		if n, ok := cur.Value().(uint64); ok {
			m["Threads_running"] = &sql.ImmutableStatusVarValue{Var: cur.Variable(), Val: n + o.st.busy()}
		}
	}
	return m
}

// GetGlobal implements sql.StatusVariableRegistry.
func (o *statusOverlay) GetGlobal(name string) (sql.StatusVariable, any, bool) {
	if hiddenStatus(name) {
		return nil, nil, false
	}
	v, val, ok := o.inner.GetGlobal(name)
	if !ok {
		return v, val, ok
	}
	if over, ok := o.st.value(v.GetName()); ok {
		val = over
	}
	return v, val, true
}

// SetGlobal implements sql.StatusVariableRegistry.
func (o *statusOverlay) SetGlobal(name string, val any) error { return o.inner.SetGlobal(name, val) }

// IncrementGlobal implements sql.StatusVariableRegistry.
func (o *statusOverlay) IncrementGlobal(name string, val int) {
	o.inner.IncrementGlobal(name, val)
	if name == "Threads_connected" {
		o.st.connectionsChanged(val)
	}
}

// statusListener counts the bytes of every accepted connection.
type statusListener struct {
	net.Listener
	st *serverStatus
}

func (l *statusListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.st.threadsCreated.Add(1)
	return &countingConn{Conn: c, st: l.st, raw: newRawSocket(c)}, nil
}

// countingConn adds what it reads and writes to Bytes_received and Bytes_sent, globally and,
// once bound to its session, in the session's own counters (SHOW SESSION STATUS).
//
// Its reads and writes go through raw (rawsock.go) when the socket has a file descriptor.
type countingConn struct {
	net.Conn
	st  *serverStatus
	raw *rawSocket // nil: through Conn

	mu                 sync.Mutex // held by bind and by the byte counting before bind
	sent, received     uint64     // this connection's bytes until bind
	sessSent, sessRecv atomic.Pointer[atomic.Uint64]
	sessQueries        atomic.Pointer[atomic.Uint64]
}

// Close closes the connection and takes its raw socket out of serverLoad (rawSocket.detach),
// so a connection that ends in the middle of a command (COM_QUIT, a kill) is not counted as
// executing ever after.
func (c *countingConn) Close() error {
	if c.raw != nil {
		c.raw.detach()
	}
	return c.Conn.Close()
}

func (c *countingConn) Read(p []byte) (n int, err error) {
	if c.raw != nil {
		n, err = c.raw.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	c.st.bytesReceived.Add(uint64(n))
	c.count(&c.sessRecv, &c.received, n)
	return n, err
}

func (c *countingConn) Write(p []byte) (n int, err error) {
	if c.raw != nil {
		n, err = c.raw.Write(p)
	} else {
		n, err = c.Conn.Write(p)
	}
	c.st.bytesSent.Add(uint64(n))
	c.count(&c.sessSent, &c.sent, n)
	return n, err
}

// count adds n to the session counter, or to the connection's own total before bind.
func (c *countingConn) count(sess *atomic.Pointer[atomic.Uint64], before *uint64, n int) {
	if p := sess.Load(); p != nil {
		p.Add(uint64(n))
		return
	}
	c.mu.Lock()
	if p := sess.Load(); p != nil {
		p.Add(uint64(n))
	} else {
		*before += uint64(n)
	}
	c.mu.Unlock()
}

// bind makes the session's Bytes_sent, Bytes_received and Queries count this connection's
// traffic (the handshake's bytes included, as MySQL's do).
func (c *countingConn) bind(sess sql.Session) {
	all := sess.GetAllStatusVariables(nil)
	counter := func(name string) *atomic.Uint64 {
		if v, ok := all[name].(*sql.MutableStatusVarValue); ok && v.Val != nil {
			return v.Val
		}
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := counter("Bytes_sent"); p != nil {
		p.Add(c.sent)
		c.sessSent.Store(p)
	}
	if p := counter("Bytes_received"); p != nil {
		p.Add(c.received)
		c.sessRecv.Store(p)
	}
	if p := counter("Queries"); p != nil {
		c.sessQueries.Store(p)
	}
}

// countingConnOf returns the countingConn under a vitess connection, or nil.
func countingConnOf(c *mysql.Conn) *countingConn {
	if sc := shimOf(c); sc != nil {
		cc, _ := sc.Conn.(*countingConn)
		return cc
	}
	return nil
}

// query counts one statement in Queries (global, and the connection's session).
func (st *serverStatus) query(c *mysql.Conn) {
	st.queries.Add(1)
	if cc := countingConnOf(c); cc != nil {
		if p := cc.sessQueries.Load(); p != nil {
			p.Add(1)
		}
	}
}

// statusHandler counts the commands GMS's handler serves: Questions and Queries, Com_* by
// statement kind, Com_stmt_* for prepared statements, Com_change_db for COM_INIT_DB, and
// Aborted_clients for connections that end without COM_QUIT (as MySQL counts a client that
// went away or was killed).
type statusHandler struct {
	mysql.Handler
	st *serverStatus
}

var (
	_ mysql.Handler              = (*statusHandler)(nil)
	_ mysql.BinlogReplicaHandler = (*statusHandler)(nil)
)

// ConnectionClosed implements mysql.Handler.
func (h *statusHandler) ConnectionClosed(c *mysql.Conn) {
	if sc := shimOf(c); sc != nil && !sc.quit.Load() {
		h.st.abortedClients.Add(1)
	}
	h.Handler.ConnectionClosed(c)
}

// ComInitDB implements mysql.Handler.
func (h *statusHandler) ComInitDB(c *mysql.Conn, schemaName string) error {
	h.st.questions.Add(1)
	h.st.query(c)
	h.st.countCom("Com_change_db")
	return h.Handler.ComInitDB(c, schemaName)
}

// ComQuery implements mysql.Handler.
func (h *statusHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	h.st.statement(c, query)
	return h.Handler.ComQuery(ctx, c, query, callback)
}

// ComMultiQuery implements mysql.Handler: one statement of a multi-statement text per call.
func (h *statusHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	h.st.statement(c, query)
	return h.Handler.ComMultiQuery(ctx, c, query, callback)
}

// ComPrepare implements mysql.Handler.
func (h *statusHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	h.st.query(c)
	h.st.countCom("Com_stmt_prepare")
	return h.Handler.ComPrepare(ctx, c, query, prepare)
}

// ComStmtExecute implements mysql.Handler: Com_stmt_execute and the statement's own Com_*.
func (h *statusHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	h.st.countCom("Com_stmt_execute")
	if prepare != nil {
		h.st.statement(c, prepare.PrepareStmt)
	} else {
		h.st.questions.Add(1)
		h.st.query(c)
	}
	return h.Handler.ComStmtExecute(ctx, c, prepare, callback)
}

// ComRegisterReplica implements mysql.BinlogReplicaHandler.
func (h *statusHandler) ComRegisterReplica(c *mysql.Conn, replicaHost string, replicaPort uint16, replicaUser string, replicaPassword string) error {
	if rh, ok := h.Handler.(mysql.BinlogReplicaHandler); ok {
		return rh.ComRegisterReplica(c, replicaHost, replicaPort, replicaUser, replicaPassword)
	}
	return nil
}

// ComBinlogDumpGTID implements mysql.BinlogReplicaHandler.
func (h *statusHandler) ComBinlogDumpGTID(c *mysql.Conn, logFile string, logPos uint64, gtidSet mysql.GTIDSet) error {
	if rh, ok := h.Handler.(mysql.BinlogReplicaHandler); ok {
		return rh.ComBinlogDumpGTID(c, logFile, logPos, gtidSet)
	}
	return nil
}

// leadingNoise is what precedes a statement's first keyword: spaces, comments, "(".
var leadingNoise = regexp.MustCompile(`^(?:\s+|/\*.*?\*/|(?:--\s|#)[^\n]*(?:\n|$)|\()+`)

// comAliases are the old names MySQL 8.0 keeps beside a renamed statement's counter.
var comAliases = map[string]string{
	"Com_show_replica_status": "Com_show_slave_status",
	"Com_show_replicas":       "Com_show_slave_hosts",
}

// isLetter reports whether c is an ASCII letter.
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// firstWords returns up to n words of text, upper-cased, split at white space, '(', ';' and
// '`' (every separator is ASCII, so a byte scan splits UTF-8 text where a rune scan would).
// Only the words returned are scanned and copied: comNames runs for every statement, and a
// long statement's tail is never looked at.
func firstWords(text string, n int) []string {
	w := make([]string, 0, n)
	start := -1
	for i := 0; i <= len(text) && len(w) < n; i++ {
		sep := i == len(text)
		if !sep {
			switch text[i] {
			case ' ', '\t', '\n', '\r', '(', ';', '`':
				sep = true
			}
		}
		switch {
		case sep && start >= 0:
			w = append(w, strings.ToUpper(text[start:i]))
			start = -1
		case !sep && start < 0:
			start = i
		}
	}
	return w
}

// comNames returns the Com_* counters a statement moves, as MySQL 8.0 names them (both names
// of a renamed statement: Com_replica_start and Com_slave_start). An empty statement is
// Com_empty_query; a statement it does not know moves none.
func comNames(text string) []string {
	if text == "" || !isLetter(text[0]) { // the common statement starts with its keyword
		text = leadingNoise.ReplaceAllString(text, "")
	}
	if strings.TrimRight(text, "; \t\r\n") == "" {
		return []string{"Com_empty_query"}
	}
	w := firstWords(text, 4)
	word := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	one := func(n string) []string { return []string{n} }
	switch word(0) {
	case "SELECT", "WITH", "TABLE", "VALUES":
		return one("Com_select")
	case "INSERT":
		if containsFold(text, "select") {
			return one("Com_insert_select")
		}
		return one("Com_insert")
	case "REPLACE":
		if containsFold(text, "select") {
			return one("Com_replace_select")
		}
		return one("Com_replace")
	case "UPDATE":
		return one("Com_update")
	case "DELETE":
		return one("Com_delete")
	case "BEGIN":
		return one("Com_begin")
	case "START":
		switch word(1) {
		case "TRANSACTION":
			return one("Com_begin")
		case "SLAVE", "REPLICA":
			return []string{"Com_replica_start", "Com_slave_start"}
		}
	case "STOP":
		if word(1) == "SLAVE" || word(1) == "REPLICA" {
			return []string{"Com_replica_stop", "Com_slave_stop"}
		}
	case "COMMIT":
		return one("Com_commit")
	case "ROLLBACK":
		if word(1) == "TO" || (word(1) == "WORK" && word(2) == "TO") {
			return one("Com_rollback_to_savepoint")
		}
		return one("Com_rollback")
	case "SAVEPOINT":
		return one("Com_savepoint")
	case "RELEASE":
		return one("Com_release_savepoint")
	case "SET":
		return one("Com_set_option")
	case "USE":
		return one("Com_change_db")
	case "DO":
		return one("Com_do")
	case "CALL":
		return one("Com_call_procedure")
	case "PREPARE":
		return one("Com_prepare_sql")
	case "EXECUTE":
		return one("Com_execute_sql")
	case "DEALLOCATE":
		return one("Com_dealloc_sql")
	case "TRUNCATE":
		return one("Com_truncate")
	case "FLUSH":
		return one("Com_flush")
	case "KILL":
		return one("Com_kill")
	case "GRANT":
		return one("Com_grant")
	case "REVOKE":
		return one("Com_revoke")
	case "ANALYZE":
		return one("Com_analyze")
	case "OPTIMIZE":
		return one("Com_optimize")
	case "CHECK":
		return one("Com_check")
	case "CHECKSUM":
		return one("Com_checksum")
	case "HELP":
		return one("Com_help")
	case "LOAD":
		return one("Com_load")
	case "PURGE":
		return one("Com_purge")
	case "RESET":
		return one("Com_reset")
	case "EXPLAIN", "DESCRIBE", "DESC":
		if word(1) == "SELECT" || word(1) == "" {
			return one("Com_select")
		}
		return one("Com_show_fields")
	case "LOCK":
		return one("Com_lock_tables")
	case "UNLOCK":
		return one("Com_unlock_tables")
	case "INSTALL":
		if word(1) == "COMPONENT" {
			return one("Com_install_component")
		}
		return one("Com_install_plugin")
	case "UNINSTALL":
		if word(1) == "COMPONENT" {
			return one("Com_uninstall_component")
		}
		return one("Com_uninstall_plugin")
	case "CHANGE":
		if word(1) == "MASTER" || word(1) == "REPLICATION" && word(2) == "SOURCE" {
			return []string{"Com_change_master", "Com_change_replication_source"}
		}
		if word(1) == "REPLICATION" && word(2) == "FILTER" {
			return one("Com_change_repl_filter")
		}
	case "RENAME":
		if word(1) == "USER" {
			return one("Com_rename_user")
		}
		return one("Com_rename_table")
	case "CREATE", "DROP", "ALTER":
		return one(ddlCom(strings.ToLower(word(0)), w[1:]))
	case "SHOW":
		n := showCom(w[1:])
		if a, ok := comAliases[n]; ok {
			return []string{n, a}
		}
		return one(n)
	}
	return nil
}

// ddlCom names the Com_ counter of CREATE/DROP/ALTER (verb in lower case) of the object the
// words after the verb name.
func ddlCom(verb string, rest []string) string {
	for len(rest) > 0 {
		switch rest[0] {
		case "OR", "REPLACE", "TEMPORARY", "UNIQUE", "FULLTEXT", "SPATIAL", "DEFINER", "SQL", "ALGORITHM", "ONLINE", "OFFLINE":
			rest = rest[1:]
			continue
		}
		break
	}
	obj := ""
	if len(rest) > 0 {
		obj = rest[0]
	}
	switch obj {
	case "DATABASE", "SCHEMA":
		return "Com_" + verb + "_db"
	case "TABLE", "INDEX", "VIEW", "USER", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "ROLE", "SERVER", "TABLESPACE":
		return "Com_" + verb + "_" + strings.ToLower(obj)
	}
	if strings.HasPrefix(obj, "DEFINER=") {
		return "Com_" + verb + "_view"
	}
	return ""
}

// showCom names the Com_show_* counter of SHOW followed by words.
func showCom(w []string) string {
	for len(w) > 0 && (w[0] == "GLOBAL" || w[0] == "SESSION" || w[0] == "LOCAL" || w[0] == "FULL" || w[0] == "EXTENDED") {
		w = w[1:]
	}
	at := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	switch at(0) {
	case "STATUS":
		return "Com_show_status"
	case "VARIABLES":
		return "Com_show_variables"
	case "DATABASES", "SCHEMAS":
		return "Com_show_databases"
	case "TABLES":
		return "Com_show_tables"
	case "TABLE":
		return "Com_show_table_status"
	case "COLUMNS", "FIELDS":
		return "Com_show_fields"
	case "INDEX", "INDEXES", "KEYS":
		return "Com_show_keys"
	case "PROCESSLIST":
		return "Com_show_processlist"
	case "WARNINGS":
		return "Com_show_warnings"
	case "ERRORS":
		return "Com_show_errors"
	case "GRANTS":
		return "Com_show_grants"
	case "PLUGINS":
		return "Com_show_plugins"
	case "ENGINES", "STORAGE":
		return "Com_show_storage_engines"
	case "CHARSET", "CHARACTER":
		return "Com_show_charsets"
	case "COLLATION":
		return "Com_show_collations"
	case "TRIGGERS":
		return "Com_show_triggers"
	case "EVENTS":
		return "Com_show_events"
	case "PRIVILEGES":
		return "Com_show_privileges"
	case "BINARY", "MASTER":
		if at(0) == "MASTER" && at(1) == "STATUS" {
			return "Com_show_master_status"
		}
		return "Com_show_binlogs"
	case "BINLOG":
		return "Com_show_binlog_events"
	case "RELAYLOG":
		return "Com_show_relaylog_events"
	case "SLAVE", "REPLICA":
		if at(1) == "HOSTS" {
			return "Com_show_replicas"
		}
		return "Com_show_replica_status"
	case "REPLICAS":
		return "Com_show_replicas"
	case "PROCEDURE":
		return "Com_show_procedure_status"
	case "FUNCTION":
		return "Com_show_function_status"
	case "ENGINE":
		return "Com_show_engine_status"
	case "OPEN":
		return "Com_show_open_tables"
	case "PROFILES":
		return "Com_show_profiles"
	case "PROFILE":
		return "Com_show_profile"
	case "CREATE":
		switch at(1) {
		case "DATABASE", "SCHEMA":
			return "Com_show_create_db"
		case "TABLE", "VIEW":
			return "Com_show_create_table"
		case "PROCEDURE":
			return "Com_show_create_proc"
		case "FUNCTION":
			return "Com_show_create_func"
		case "TRIGGER":
			return "Com_show_create_trigger"
		case "EVENT":
			return "Com_show_create_event"
		case "USER":
			return "Com_show_create_user"
		}
	}
	return ""
}
