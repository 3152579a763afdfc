package sqlserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/binlogreplication"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/replica"
	"github.com/semisyncd/semisyncd/storage"
	"github.com/semisyncd/semisyncd/storage/checkpoint"
	"github.com/sirupsen/logrus"
)

// replication is the primary side of replication: the binlog (the storage
// engine's commit hook), replica registration and the dump service.
type replication struct {
	w        *binlog.Writer
	log      *logrus.Entry
	serverID uint32
	mysqlDB  *mysql_db.MySQLDb
	sessions func() *server.SessionManager
	procs    *processList // Command/State of dump connections (nil: not shown)

	ck       *checkpoint.Manager
	mu       sync.Mutex
	replicas map[uint32]replicaInfo
	known    map[uint32]replicaInfo // last registration by server_id, kept after it leaves
	hooks    binlog.DumpHooks
}

type replicaInfo struct {
	ServerID    uint32
	Host        string
	Port        uint16
	SourceID    uint32
	ReplicaUUID string
}

var _ binlogreplication.BinlogPrimaryController = (*replication)(nil)

// openBinlog rebuilds the storage engine from the data directory — the
// newest valid checkpoint, then the binlog after its position (DDL through
// the SQL engine, rows through the apply API) — and makes the binlog the
// engine's commit hook and the checkpoint manager its checkpointer.
func openBinlog(cfg Config, st *storage.Engine, e *sqle.Engine, log *logrus.Entry) (*binlog.Writer, *checkpoint.Manager, error) {
	replay := &replayer{st: st, e: e, user: cfg.User, uuid: cfg.ServerUUID}
	ck := checkpoint.NewManager(cfg.DataDir, cfg.FS, log)
	meta, err := ck.Load(replay)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlserver: %w", err)
	}
	if meta != nil {
		if err := replay.rebuildFulltext(); err != nil {
			return nil, nil, fmt.Errorf("sqlserver: %w", err)
		}
	}
	bcfg := binlog.Config{
		Dir:        cfg.DataDir,
		ServerID:   cfg.ServerID,
		ServerUUID: cfg.ServerUUID,
		Checksum:   true,
		SyncBinlog: 1,
		MaxSize:    1 << 30,
		Log:        log,
		FS:         cfg.FS,
		Covered:    ck.Covered,
		// binlog_error_action = ABORT_SERVER: the writer has logged MySQL's
		// message; nothing it failed on was acknowledged, and the next
		// start recovers.
		OnAbort: func(string) {
			if cfg.OnBinlogAbort != nil {
				cfg.OnBinlogAbort()
				return
			}
			os.Exit(1)
		},
	}
	if meta != nil {
		executed, err := binlog.ParseGTIDSet(meta.Executed)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlserver: checkpoint %s: %w", checkpoint.Name(meta.Seq), err)
		}
		bcfg.Start = &binlog.Start{Seq: meta.Seq, Pos: meta.Binlog, Reset: meta.Reset, Executed: executed, Journal: meta.Journal}
	}
	if bcfg.ServerID == 0 {
		bcfg.ServerID = 1
	}
	start := time.Now()
	w, err := binlog.Open(bcfg, replay.apply)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlserver: binlog: %w", err)
	}
	rec := w.Recovered()
	log.WithFields(logrus.Fields{"transactions": rec.Transactions, "unlogged": rec.Unlogged, "bytes": rec.Bytes, "elapsed": time.Since(start).String()}).Info("replayed the binlog")
	st.SetHook(logBinHook{w})
	ck.Start(st, w)
	// A long replay, or data only an old binlog-archive/ held, goes into a
	// checkpoint at once: the next start is short, and the archive can go.
	if w.HadArchive() || rec.Bytes >= checkpoint.DefaultInterval {
		if err := ck.Take("start"); err != nil {
			_ = w.Close()
			return nil, nil, fmt.Errorf("sqlserver: %w", err)
		}
		if w.HadArchive() {
			if err := w.RemoveArchive(); err != nil {
				log.WithError(err).Warn("cannot remove binlog-archive/")
			}
		}
	}
	w.SetExpire(defaultBinlogExpire)
	if err := w.Expire(); err != nil {
		log.WithError(err).Warn("purging expired binlog files failed")
	}
	return w, ck, nil
}

// defaultBinlogExpire is binlog_expire_logs_seconds' default: 30 days.
const defaultBinlogExpire = 30 * 24 * time.Hour

// Exec implements checkpoint.Target: a statement through the SQL engine,
// with foreign_key_checks off (a checkpoint's foreign keys are added after
// every table holds its rows, which are already consistent).
func (r *replayer) Exec(db, query string) error {
	ctx, sess := r.ctx(db, query)
	if err := sess.SetSessionVariable(ctx, "foreign_key_checks", int8(0)); err != nil {
		return err
	}
	_, iter, _, err := r.e.Query(ctx, query)
	if err == nil {
		_, err = sql.RowIterToRows(ctx, iter)
	}
	return err
}

// Schema implements checkpoint.Target.
func (r *replayer) Schema(db, table string) (sql.Schema, bool) {
	ctx, sess := r.ctx("", "")
	pks, ok := sess.TableSchema(ctx, db, table)
	return pks.Schema, ok
}

// LoadRows implements checkpoint.Target.
func (r *replayer) LoadRows(db, table string, rows []sql.Row, autoInc uint64) error {
	return r.st.LoadRows(db, table, rows, autoInc)
}

// LoadObjects implements checkpoint.Target.
func (r *replayer) LoadObjects(db string, v []sql.ViewDefinition, tr []sql.TriggerDefinition, p []sql.StoredProcedureDetails) error {
	return r.st.LoadObjects(db, v, tr, p)
}

// LoadEvents implements checkpoint.Target.
func (r *replayer) LoadEvents(db string, events []sql.EventDefinition) error {
	return r.st.LoadEvents(db, events)
}

// replayer rebuilds the engine at start: it is the checkpoint's Target, and
// it applies the binlog's transactions after the checkpoint with the one
// applier the replica's SQL thread uses too (replica.EngineApplier).
type replayer struct {
	st      *storage.Engine
	e       *sqle.Engine
	user    string
	uuid    string // this server's: replayed transactions of others are replicated ones
	pid     uint64
	applier *replica.EngineApplier
}

func (r *replayer) ctx(db, query string) (*sql.Context, *storage.Session) {
	sess := r.st.NewSession(sql.NewBaseSessionWithClientServer("replay", sql.Client{User: r.user, Address: "localhost"}, 0)).(*storage.Session)
	r.pid++
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess), sql.WithQuery(query), sql.WithPid(r.pid))
	if db != "" {
		ctx.SetCurrentDatabase(db)
	}
	return ctx, sess
}

// rebuildFulltext fills the FULLTEXT indexes of the tables a checkpoint
// loaded (their rows were loaded without them), in one transaction that
// logs nothing.
func (r *replayer) rebuildFulltext() error {
	ctx, sess := r.ctx("", "")
	tx, err := sess.StartTransaction(ctx, sql.ReadWrite)
	if err != nil {
		return err
	}
	ctx.SetTransaction(tx)
	if err := r.st.RebuildFulltext(ctx); err != nil {
		_ = sess.Rollback(ctx, tx)
		return err
	}
	return sess.CommitTransaction(ctx, tx)
}

// apply is binlog.Open's replay function.
func (r *replayer) apply(tx *binlog.Transaction) error {
	if r.applier == nil {
		// Accounts are in privileges.db (setupAccounts): replay leaves them alone.
		r.applier = &replica.EngineApplier{Engine: r.e, Storage: r.st, User: r.user, SkipAccountStatements: true, MapError: mapError, LocalUUID: r.uuid}
	}
	return replica.ApplyNow(context.Background(), r.applier, tx)
}

// RegisterReplica implements binlogreplication.BinlogPrimaryController.
func (r *replication) RegisterReplica(ctx *sql.Context, c *mysql.Conn, host string, port uint16) error {
	return nil
}

// BinlogDumpGtid implements binlogreplication.BinlogPrimaryController; dumps
// go through the handler (dump), which has the session and position.
func (r *replication) BinlogDumpGtid(ctx *sql.Context, c *mysql.Conn, gtidSet mysql.GTIDSet) error {
	return nil
}

// ListReplicas implements binlogreplication.BinlogPrimaryController.
func (r *replication) ListReplicas(ctx *sql.Context) error { return nil }

// ListBinaryLogs is SHOW BINARY LOGS.
func (r *replication) ListBinaryLogs(ctx *sql.Context) ([]binlogreplication.BinaryLogFileMetadata, error) {
	if err := r.needReplicationClient(ctx); err != nil {
		return nil, err
	}
	var out []binlogreplication.BinaryLogFileMetadata
	for _, f := range r.w.Files() {
		out = append(out, binlogreplication.BinaryLogFileMetadata{Name: f.Name, Size: f.Size})
	}
	return out, nil
}

// GetBinaryLogStatus is SHOW BINARY LOG STATUS / SHOW MASTER STATUS.
func (r *replication) GetBinaryLogStatus(ctx *sql.Context) ([]binlogreplication.BinaryLogStatus, error) {
	if err := r.needReplicationClient(ctx); err != nil {
		return nil, err
	}
	pos, gtids := r.w.Status()
	return []binlogreplication.BinaryLogStatus{{File: pos.File, Position: uint(pos.Pos), ExecutedGtids: gtids}}, nil
}

// needReplicationClient is MySQL's check for SHOW BINARY LOG STATUS and SHOW BINARY LOGS:
// REPLICATION CLIENT or SUPER, else 1227.
func (r *replication) needReplicationClient(ctx *sql.Context) error {
	if r.mysqlDB == nil || !r.mysqlDB.Enabled() {
		return nil
	}
	for _, p := range []sql.PrivilegeType{sql.PrivilegeType_ReplicationClient, sql.PrivilegeType_Super} {
		if r.mysqlDB.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, p)) {
			return nil
		}
	}
	return mysql.NewSQLError(erSpecificAccessDenied, stateSyntaxOrAccess, specificAccessDeniedFormat, "SUPER, REPLICATION CLIENT")
}

// register records COM_REGISTER_SLAVE (SHOW REPLICAS).
func (r *replication) register(c *mysql.Conn, host string, port uint16) error {
	id := uint32(0)
	if sc := shimOf(c); sc != nil {
		id = sc.replicaServerID()
	}
	ri := replicaInfo{ServerID: id, Host: host, Port: port, SourceID: r.serverID}
	peer := ""
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = a.IP.String()
	}
	r.mu.Lock()
	r.replicas[uint32(c.ConnectionID)] = ri
	if r.known == nil {
		r.known = map[uint32]replicaInfo{}
	}
	if ri.Host == "" {
		ri.Host = peer // the view names the replica by its address when it reports no host
	}
	r.known[id] = ri
	r.mu.Unlock()
	return nil
}

func (r *replication) unregister(connID uint32) {
	r.mu.Lock()
	delete(r.replicas, connID)
	r.mu.Unlock()
}

// knownReplica returns the last registration of server id (report_host, or the replica's IP
// address when it reported none; report_port).
func (r *replication) knownReplica(id uint32) (replicaInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ri, ok := r.known[id]
	return ri, ok
}

// Replicas lists the registered replicas, by server id.
func (r *replication) Replicas() []replicaInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]replicaInfo, 0, len(r.replicas))
	for _, ri := range r.replicas {
		out = append(out, ri)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out
}

// SetDumpHooks installs the semi-sync source plugin's dump hooks.
func (r *replication) SetDumpHooks(h binlog.DumpHooks) {
	r.mu.Lock()
	r.hooks = h
	r.mu.Unlock()
}

// dump serves COM_BINLOG_DUMP (rewritten by the listener shim) and
// COM_BINLOG_DUMP_GTID. It needs REPLICATION SLAVE (1227 without); it
// reads the dump session's user variables (@rpl_semi_sync_replica/_slave,
// @master_binlog_checksum, @master_heartbeat_period) and hands the socket
// to the binlog streamer.
func (r *replication) dump(c *mysql.Conn, file string, pos uint64, gtids mysql.GTIDSet) error {
	ctx, err := r.sessions().NewContextWithQuery(context.Background(), c, "")
	if err != nil {
		return err
	}
	if r.mysqlDB != nil && r.mysqlDB.Enabled() &&
		!r.mysqlDB.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_ReplicationSlave)) {
		return mysql.NewSQLError(1227, "42000", "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation")
	}
	req := binlog.DumpRequest{File: file, Pos: pos}
	command := commandBinlogDumpGTID
	if sc := shimOf(c); sc != nil {
		req.ServerID = sc.replicaServerID()
		if sc.dumpCmd.Load() == comBinlogDump {
			command = commandBinlogDump
		}
	}
	if r.procs != nil {
		id := uint32(c.ConnectionID)
		r.procs.set(id, command, "")
		defer r.procs.clear(id)
		req.OnState = func(st string) { r.procs.setState(id, st) }
	}
	if gtids != nil {
		set, err := binlog.ParseGTIDSet(gtids.String())
		if err != nil {
			return mysql.NewSQLError(1236, "HY000", "%s", err.Error())
		}
		req.GTIDs = set
	}
	req.SemiSync = userVarInt(ctx, "rpl_semi_sync_replica") != 0 || userVarInt(ctx, "rpl_semi_sync_slave") != 0
	for _, name := range []string{"source_binlog_checksum", "master_binlog_checksum"} {
		if v := userVarString(ctx, name); v != "" {
			req.ReplicaChecksum = strings.EqualFold(v, "CRC32")
			break
		}
	}
	for _, name := range []string{"source_heartbeat_period", "master_heartbeat_period"} {
		if v := userVarInt(ctx, name); v > 0 {
			req.Heartbeat = time.Duration(v)
			break
		}
	}
	r.mu.Lock()
	hooks := r.hooks
	r.mu.Unlock()
	defer r.unregister(uint32(c.ConnectionID))
	err = r.w.Dump(ctx, c.Conn, req, hooks)
	if de, ok := err.(*binlog.DumpError); ok {
		return mysql.NewSQLError(de.Code, "HY000", "%s", de.Message)
	}
	return err
}

func userVar(ctx *sql.Context, name string) interface{} {
	_, v, err := ctx.GetUserVariable(ctx, name)
	if err != nil {
		return nil
	}
	return v
}

func userVarInt(ctx *sql.Context, name string) int64 {
	switch v := userVar(ctx, name).(type) {
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return int64(v)
	case float64:
		return int64(v)
	case nil:
		return 0
	default:
		// Strings, decimals: parse their text.
		var n int64
		fmt.Sscan(fmt.Sprint(v), &n)
		return n
	}
}

func userVarString(ctx *sql.Context, name string) string {
	switch v := userVar(ctx, name).(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}
