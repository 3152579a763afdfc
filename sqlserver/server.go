// Package sqlserver wires go-mysql-server (GMS) into semisyncd's MySQL-wire server: the engine
// and its analyzer, the listener, the session builder, the parser extension point for statements
// the vitess grammar does not know, the handler wrapper that turns GMS's catch-all errors into
// MySQL's error codes, and the fixes that make global-only system variables behave as in MySQL.
//
// GMS keeps system variables, status variables and the authorization factory in package globals,
// so one process runs one Server at a time (docs/gms-notes.md §6.1). New may be called again after the
// previous Server was closed, as unit tests do.
package sqlserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/metrics"
	"github.com/semisyncd/semisyncd/plugins/semisync"
	"github.com/semisyncd/semisyncd/replica"
	"github.com/semisyncd/semisyncd/storage"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"

	"github.com/semisyncd/semisyncd/plugins"
	"github.com/semisyncd/semisyncd/sysvars"
)

// DefaultVersion is the server version reported in the handshake, by VERSION() and by
// @@version when Config.Version is empty. Clients and replicas parse its leading "8.0" to pick
// MySQL 8.0 behaviour.
const DefaultVersion = "8.0.40-semisyncd"

// VersionComment is @@version_comment, which the mysql client prints in its banner and in \s
// (mysqld's is "MySQL Community Server - GPL").
const VersionComment = "semisyncd, MySQL-compatible server with semi-synchronous replication"

// DefaultUser is the account created when Config.User is empty.
const DefaultUser = "root"

// closeTimeout bounds how long Close waits for the accept loop and the open connections to end.
const closeTimeout = 5 * time.Second

// Config is what New needs to build a Server.
type Config struct {
	// Host is the address to listen on; empty means 127.0.0.1.
	Host string
	// Port is the TCP port; 0 picks a free port (see Server.Addr).
	Port int
	// DataDir is the server's data directory (the binlog, checkpoints, server-uuid, privileges,
	// the replica's files). Empty: New creates a fresh temporary directory and Close removes it,
	// as `semisyncd serve` without --data-dir does.
	DataDir string
	// ServerID is @@server_id; 0 keeps GMS's default of 1.
	ServerID uint32
	// ServerUUID is @@server_uuid. Empty: the one kept in DataDir (file server-uuid), generated
	// at the first start.
	ServerUUID string
	// User and Password define the one administrative account, User@localhost with every
	// privilege. User defaults to root; Password may be empty.
	User, Password string
	// Version is the server version string; empty means DefaultVersion.
	Version string
	// PluginLoad and PluginLoadAdd are mysqld's --plugin-load and --plugin-load-add: plugins
	// to load at start for this run only ("name=library;…", or a bare "library"), before those
	// installed with INSTALL PLUGIN, which load from DataDir at every start.
	PluginLoad    string
	PluginLoadAdd []string
	// PluginDir is @@plugin_dir; empty means DefaultPluginDir.
	PluginDir string
	// SemisyncOptions are the semi-sync variables' command-line options, by variable name
	// ("rpl_semi_sync_source_timeout" → "5000"): the values they take whenever their plugin is
	// loaded. New fails on a value mysqld refuses at start and logs the ones it adjusts.
	SemisyncOptions map[string]string
	// SkipReplicaStart keeps a configured replica stopped at start
	// (skip_replica_start).
	SkipReplicaStart bool
	// MetricsAddr, when set, is host:port of the Prometheus endpoint (/metrics, package
	// metrics); New fails when it cannot be bound. Empty: no endpoint, no metrics work.
	MetricsAddr string
	// FS is the file system the binlog and the relay log write through (nil: the real one).
	// Tests inject faults with a vfs.Faulty.
	FS vfs.FS
	// SecureFilePriv is @@secure_file_priv (mysqld's --secure-file-priv): a directory file
	// access is limited to, "" for anywhere, SecureFilePrivNull for none. Nil: the directory
	// SecureFilePrivDir under DataDir (created at start).
	SecureFilePriv *string
	// OnBinlogAbort is called when a binlog write or fsync fails under binlog_error_action =
	// ABORT_SERVER, after MySQL's message is logged. Nil: the process exits with status 1.
	OnBinlogAbort func()
	// ReadOnly and SuperReadOnly are @@read_only and @@super_read_only at start (mysqld's
	// --read-only and --super-read-only); SuperReadOnly implies ReadOnly.
	ReadOnly, SuperReadOnly bool
	// SSLCert, SSLKey and SSLCA are mysqld's --ssl-cert, --ssl-key and --ssl-ca (tls.go);
	// relative paths are in DataDir. All empty: the auto_generate_certs files in DataDir,
	// generated at the first start; no TLS without a DataDir.
	SSLCert, SSLKey, SSLCA string
	// TLSVersion is @@tls_version (mysqld's --tls-version); empty: DefaultTLSVersion.
	TLSVersion string
	// RequireSecureTransport is @@require_secure_transport at start.
	RequireSecureTransport bool
	// EventScheduler is @@event_scheduler at start (mysqld's --event-scheduler): ON, OFF or
	// DISABLED (cannot be turned on at run time); empty: ON.
	EventScheduler string
}

// Server is a running (or ready to run) semisyncd SQL server.
type Server struct {
	cfg      Config
	log      *logrus.Entry
	backend  *storage.Engine
	engine   *sqle.Engine
	parser   *Parser
	listener net.Listener
	gms      *server.Server
	sessions *server.SessionManager
	handler  *handler
	repl     *replication
	source   *semisync.Source // the semi-sync source: commit waits, ACKs
	replica  *replica.Replica // the replica side (replica_sql.go)
	vars     *sysvars.State   // the semi-sync variables and status variables
	status   *serverStatus    // the server status variables GMS does not keep (status.go)
	procs    *processList     // the engine's process list with MySQL's Command/State (processlist.go)
	plans    *planCache       // analyzed plans of repeated simple SELECTs (plancache.go)
	plugins  *plugins.Registry
	metrics  *metrics.Exporter // nil without Config.MetricsAddr
	dirLock  *dirLock          // the data directory's lock, held until Close
	tls      *tls.Config       // the clients' TLS configuration; nil: no TLS (tls.go)
	events   *eventControl     // SET GLOBAL event_scheduler (events.go)
	tempDir  string            // the data directory New created (Config.DataDir empty), removed by Close

	startOnce sync.Once
	closeOnce sync.Once
	served    chan struct{} // closed when the accept loop returns

	shutdownOnce sync.Once
	shutdownCh   chan struct{} // closed by SHUTDOWN (shutdown.go)
}

// New builds the engine, loads the start-up plugins, binds the listener and prepares the
// server; it does not accept connections until Start. Errors: another process holds the data
// directory (its lock file, taken before anything else in it is touched), the address cannot
// be bound (port in use), the data directory's files cannot be read or written, or the
// configuration cannot be applied to the system variables. With no Config.DataDir it creates a
// temporary data directory (removed again when New fails, or by Close).
func New(cfg Config, backend *storage.Engine, log *logrus.Entry) (*Server, error) {
	var tempDir string
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "semisyncd-")
		if err != nil {
			return nil, fmt.Errorf("sqlserver: temporary data directory: %w", err)
		}
		cfg.DataDir, tempDir = dir, dir
	}
	s, err := openServer(cfg, backend, log)
	if err != nil {
		if tempDir != "" {
			_ = os.RemoveAll(tempDir)
		}
		return nil, err
	}
	s.tempDir = tempDir
	return s, nil
}

// openServer locks cfg.DataDir and builds the server on it.
func openServer(cfg Config, backend *storage.Engine, log *logrus.Entry) (*Server, error) {
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s, err := newServer(cfg, backend, log)
	if err != nil {
		lock.release()
		return nil, err
	}
	s.dirLock = lock
	return s, nil
}

func newServer(cfg Config, backend *storage.Engine, log *logrus.Entry) (*Server, error) {
	if backend == nil {
		return nil, errors.New("sqlserver: nil backend")
	}
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.PluginDir == "" {
		cfg.PluginDir = DefaultPluginDir
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("sqlserver: port %d out of range", cfg.Port)
	}
	var err error
	if cfg.ServerUUID, err = resolveServerUUID(cfg.DataDir, cfg.ServerUUID); err != nil {
		return nil, err
	}

	state, err := newSemisync(cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		backend:    backend,
		parser:     NewParser(),
		vars:       state,
		served:     make(chan struct{}),
		shutdownCh: make(chan struct{}),
	}

	pro := backend.Provider()
	a := analyzer.NewBuilder(pro).
		AddPreAnalyzeRule(fileAccessRuleID, fileAccessRule).
		AddPreAnalyzeRule(engineRuleID, engineRule).
		AddOverrides(sql.EngineOverrides{Builder: sql.BuilderOverrides{Parser: s.parser}, SchemaFormatter: &schemaFormatter{}}).
		Build()
	a.Catalog.AuthHandler = accessDeniedHandler{a.Catalog.AuthHandler}
	installVariables(a.Catalog.MySQLDb, s.vars.Hidden)
	installExactAggregates()
	sysvars.Register(s.vars)
	s.installPlugins(a)
	if err := installMySQLDefaults(); err != nil {
		return nil, err
	}
	if err := applyConfigVariables(cfg); err != nil {
		return nil, err
	}
	tlsSt, err := setupTLS(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.RequireSecureTransport && tlsSt.config == nil {
		return nil, errors.New("sqlserver: --require-secure-transport is ON but no secure transport (TLS) is configured")
	}
	installTLSVariables()
	if err := sql.SystemVariables.AssignValues(tlsSt.variables(cfg.RequireSecureTransport)); err != nil {
		return nil, fmt.Errorf("sqlserver: TLS variables: %w", err)
	}
	switch {
	case tlsSt.generated:
		log.WithField("data_dir", cfg.DataDir).Info("generated the TLS certificates (auto_generate_certs)")
	case tlsSt.missingAutoFiles != nil:
		log.WithField("missing", tlsSt.missingAutoFiles).Warn("some auto_generate_certs files are missing: TLS is disabled")
	}
	s.tls = tlsSt.config
	s.plans = &planCache{}
	installPlanCache(a, s.plans)
	s.engine = sqle.New(a, &sqle.Config{})
	s.procs = newProcessList(newProcTable())
	s.engine.ProcessList = s.procs
	removeStatusOverlay()
	sysvars.InstallStatus(s.vars)
	s.status = newServerStatus()
	s.status.busy = s.procs.commandCount
	installStatusOverlay(s.status)
	s.vars.Subscribe(func(e sysvars.Event) {
		if e.Kind == sysvars.StatusFlushed {
			s.status.flush()
		}
	})
	installShowVariables(a)
	installReadOnly(a, a.Catalog.MySQLDb)
	installFileAccessBuilder(a)
	installAccountLog(a, log)
	installFoundRows(a)
	s.registerSemisyncStatements()
	s.registerCompatStatements()
	s.registerEngineStatus()
	s.registerAlterUserRequire()
	s.registerShowCreateUser()
	s.registerAccountStatements()
	s.registerProcessList()
	s.registerKill()
	s.registerShutdown()
	if err := setupAccounts(s.engine, cfg.DataDir, cfg.User, cfg.Password); err != nil {
		s.engine.Close()
		return nil, err
	}
	w, ck, err := openBinlog(cfg, backend, s.engine, log)
	if err != nil {
		s.engine.Close()
		return nil, err
	}
	s.repl = &replication{w: w, ck: ck, log: log.WithField("component", "dump"), serverID: cfg.ServerID,
		mysqlDB: a.Catalog.MySQLDb, sessions: func() *server.SessionManager { return s.sessions },
		replicas: map[uint32]replicaInfo{}, procs: s.procs}
	a.Catalog.BinlogPrimaryController = s.repl
	s.source = semisync.NewSource(log)
	s.source.SetWaitObserver(s.procs.waitObserver)
	w.AddObserver(s.source)
	s.repl.SetDumpHooks(s.source)
	s.registerBinlogStatements()
	if err := s.binlogVariables(); err != nil {
		s.engine.Close()
		_ = w.Close()
		return nil, err
	}
	s.attachSource(s.source)
	if err := s.startEventScheduler(cfg.EventScheduler); err != nil {
		s.engine.Close()
		_ = w.Close()
		return nil, err
	}
	if err := s.plugins.Start(cfg.PluginLoad, cfg.PluginLoadAdd); err != nil {
		s.engine.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlserver: %w", err)
	}

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.engine.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlserver: listen on %s: %w", addr, err)
	}
	l = &shimListener{Listener: &statusListener{Listener: l, st: s.status}, tls: s.tls, st: s.status}
	s.listener = l
	if err := s.setupReplica(l.Addr().(*net.TCPAddr).Port); err != nil {
		_ = l.Close()
		s.engine.Close()
		_ = s.repl.w.Close()
		return nil, err
	}

	// A server.Option, not server.InterceptorChain: it also captures the SessionManager, and
	// the wrapper keeps implementing mysql.BinlogReplicaHandler (docs/gms-notes.md §1.3).
	wrap := func(e *sqle.Engine, sm *server.SessionManager, h mysql.Handler) (*sqle.Engine, *server.SessionManager, mysql.Handler) {
		s.sessions = sm
		fast := &fastExec{Handler: h, pc: s.plans, engine: e, sessions: func() *server.SessionManager { return s.sessions }}
		s.handler = newHandler(&statusHandler{Handler: fast, st: s.status}, log)
		s.handler.repl = s.repl
		s.handler.plans = s.plans
		s.handler.fks = backend.ForeignKey
		s.handler.tables = backend.TableExists
		s.handler.limit.db = s.engine.Analyzer.Catalog.MySQLDb
		return e, sm, s.handler
	}
	gms, err := server.NewServer(server.Config{
		Protocol: "tcp",
		Address:  l.Addr().String(),
		Listener: l,
		Version:  cfg.Version,
		Options:  []server.Option{wrap},
	}, s.engine, sql.NewContext, s.newSession, nil)
	if err != nil {
		_ = l.Close()
		s.engine.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlserver: %w", err)
	}
	if cfg.MetricsAddr != "" {
		if err := s.startMetrics(cfg.MetricsAddr); err != nil {
			_ = l.Close()
			s.engine.Close()
			_ = w.Close()
			return nil, fmt.Errorf("sqlserver: metrics endpoint on %s: %w", cfg.MetricsAddr, err)
		}
	}
	s.gms = gms
	return s, nil
}

// newSession is the server.SessionBuilder: it hands the connection's base session to the
// backend, which returns the session type its tables require.
func (s *Server) newSession(_ context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	var client sql.Client
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		client.User, client.Address = u.User, u.Host
	}
	client.Capabilities = conn.Capabilities
	sess := s.backend.NewSession(sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID))
	s.handler.trackSession(conn.ConnectionID, sess)
	if cc := countingConnOf(conn); cc != nil {
		cc.bind(sess)
	}
	handshakeCollation(sess, conn.CharacterSet, s.log)
	if sc := shimOf(conn); sc != nil {
		if cs, ok := sc.TLSState(); ok {
			_ = sess.SetStatusVariable(nil, "Ssl_cipher", cipherName(cs.CipherSuite))
			_ = sess.SetStatusVariable(nil, "Ssl_version", tlsVersionName(cs.Version))
		}
		if err := initInteractiveTimeout(sess, sc.interactive); err != nil {
			s.log.WithError(err).Warn("interactive_timeout")
		}
	}
	return sess, nil
}

// Start begins accepting connections in the background and returns at once: the listener is
// already bound by New, so clients can connect as soon as Start returns. It logs one "ready"
// line at Info level with the field addr. Calling Start twice is a no-op.
func (s *Server) Start() error {
	s.startOnce.Do(func() {
		go func() {
			defer close(s.served)
			// GMS's Start only adds, before Accept, log lines of its own: "Server ready" (ours is
			// below) and three warnings that secure_file_priv is empty, logged at every start.
			s.gms.Listener.Accept() // blocks until Close
		}()
		s.log.WithFields(logrus.Fields{
			"addr":      s.Addr(),
			"version":   s.cfg.Version,
			"server_id": s.serverID(),
			"data_dir":  s.cfg.DataDir,
			"backend":   s.backend.Name(),
		}).Info("ready")
		s.startReplica()
	})
	return nil
}

// backendName is how logs name a backend: its Name() when it has one, else its Go type.
func (s *Server) serverID() uint32 {
	if s.cfg.ServerID == 0 {
		return 1
	}
	return s.cfg.ServerID
}

// Addr returns the address the server listens on, host:port, with the real port when
// Config.Port was 0.
func (s *Server) Addr() string {
	return s.listener.Addr().String()
}

// Engine returns the GMS engine, for in-process queries and for packages that extend it.
func (s *Server) Engine() *sqle.Engine { return s.engine }

// SessionManager returns GMS's session manager: the sessions of the open connections, e.g. for
// a handler that needs a connection's session variables (docs/gms-notes.md §1.2).
func (s *Server) SessionManager() *server.SessionManager { return s.sessions }

// Parser returns the server's parser, where extensions register statements the MySQL grammar
// does not parse.
func (s *Server) Parser() *Parser { return s.parser }

// SemisyncState returns the semi-sync variables and status variables: the configuration the
// semi-sync runtimes read, the status they publish, and the change events they subscribe to.
func (s *Server) SemisyncState() *sysvars.State { return s.vars }

// Plugins returns the plugin registry, where the semi-sync runtime installs its in-use check.
func (s *Server) Plugins() *plugins.Registry { return s.plugins }

// Close stops accepting connections, cancels running statements, closes every client
// connection and releases the engine. It never hangs: it waits at most closeTimeout for the
// accept loop and for connections to end, then logs what it left behind and returns. It returns nil; calling it
// again does nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		deadline := time.Now().Add(closeTimeout)
		// Commits waiting for an ACK are released first: shutdown
		// never hangs on semi-sync.
		s.source.Shutdown()
		if err := s.replica.Close(); err != nil {
			s.log.WithError(err).Warn("closing the replica")
		}
		_ = s.gms.Close() // closes the listener; Accept returns
		s.startOnce.Do(func() { close(s.served) })
		select {
		case <-s.served:
		case <-time.After(time.Until(deadline)):
			s.log.Warn("accept loop did not stop in time")
		}
		if n := s.handler.closeAll(time.Until(deadline), s.engine.ProcessList.Kill); n > 0 {
			s.log.WithField("connections", n).Warn("connections still running a statement at shutdown")
		}
		s.events.close()
		dmlCaches.Delete(s.engine.Analyzer)
		s.engine.Close()
		// A clean shutdown leaves a checkpoint of everything: the next
		// start replays nothing.
		if err := s.repl.ck.Close(); err != nil {
			s.log.WithError(err).Error("the shutdown checkpoint failed; the next start replays the binlog")
		}
		if err := s.repl.w.Close(); err != nil {
			s.log.WithError(err).Error("closing the binlog")
		}
		if s.metrics != nil {
			_ = s.metrics.Close()
		}
		s.dirLock.release()
		if s.tempDir != "" {
			if err := os.RemoveAll(s.tempDir); err != nil {
				s.log.WithError(err).WithField("data_dir", s.tempDir).Warn("removing the temporary data directory")
			}
		}
		s.log.Info("stopped")
	})
	return nil
}

// startMetrics binds the Prometheus endpoint and connects it to the semi-sync source (commit
// waits, ACK latencies, per-replica state) and the binlog (commit latency, bytes, fsyncs and
// group commits): it is
// registered after the source, so a commit's latency includes its AFTER_COMMIT wait.
func (s *Server) startMetrics(addr string) error {
	e := metrics.New(s.source.Replicas, s.repl.w.Stats)
	if err := e.Listen(addr, s.log); err != nil {
		return err
	}
	s.metrics = e
	s.source.SetMetricsObservers(e.ObserveCommitWait, e.ObserveAckLatency)
	s.repl.w.AddObserver(e)
	s.log.WithField("addr", e.Addr()).Info("metrics endpoint listening")
	return nil
}

// MetricsAddr is the metrics endpoint's address (the real port when Config.MetricsAddr had
// port 0), or "" without one.
func (s *Server) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.Addr()
}

// applyConfigVariables sets the system variables that come from the configuration.
func applyConfigVariables(cfg Config) error {
	vals := map[string]interface{}{"version": cfg.Version, "plugin_dir": cfg.PluginDir, "version_comment": VersionComment}
	// MySQL's @@datadir: absolute, with a trailing slash.
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		vals["datadir"] = strings.TrimSuffix(abs, "/") + "/"
	}
	// MySQL 8.0's default collation (GMS defaults to utf8mb4_0900_bin):
	// new databases, tables and literals compare case-insensitively.
	for _, name := range []string{"collation_server", "collation_database", "collation_connection", "default_collation_for_utf8mb4"} {
		if _, _, ok := sql.SystemVariables.GetGlobal(name); ok {
			vals[name] = mysqlDefaultCollation
		}
	}
	if cfg.ServerID != 0 {
		vals["server_id"] = cfg.ServerID
	}
	if cfg.ServerUUID != "" {
		vals["server_uuid"] = cfg.ServerUUID
	}
	// Every start sets both: GMS's globals outlive a previous Server of the process.
	vals["read_only"], vals["super_read_only"] = int8(0), int8(0)
	if cfg.ReadOnly || cfg.SuperReadOnly {
		vals["read_only"] = int8(1)
	}
	if cfg.SuperReadOnly {
		vals["super_read_only"] = int8(1)
	}
	sfp, err := resolveSecureFilePriv(cfg)
	if err != nil {
		return fmt.Errorf("sqlserver: secure_file_priv: %w", err)
	}
	vals["secure_file_priv"] = sfp
	if err := sql.SystemVariables.AssignValues(vals); err != nil {
		return fmt.Errorf("sqlserver: system variables: %w", err)
	}
	return nil
}

// mysqlDefaultCollation is MySQL 8.0's @@collation_server.
const mysqlDefaultCollation = "utf8mb4_0900_ai_ci"

// SemiSyncSource returns the semi-sync source runtime.
func (s *Server) SemiSyncSource() *semisync.Source { return s.source }
