package replica

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/sirupsen/logrus"
)

// Config is what New needs.
type Config struct {
	// DataDir holds the relay log and the replica's metadata.
	DataDir string
	// FS is the file system relay-log writes go through (nil: the real
	// one); tests inject faults with a vfs.Faulty.
	FS vfs.FS
	// ServerID and ServerUUID are this server's identity (a source with
	// the same one is refused, error 13117).
	ServerID   uint32
	ServerUUID string
	// ReportPort is the port COM_REGISTER_SLAVE announces (SHOW REPLICAS on
	// the source).
	ReportPort int
	// Applier applies transactions; without one the SQL thread cannot start.
	Applier Applier
	// Executed returns this server's @@gtid_executed. Transactions in it
	// are skipped by the SQL thread and, with auto-position, not requested
	// from the source. Nil means none.
	Executed func() string
	// SemiSyncEnabled, when set, is rpl_semi_sync_replica_enabled as the
	// semi-sync replica plugin holds it (false while the plugin is not
	// installed); the IO thread reads it each time it connects. Without it,
	// SetSemiSyncEnabled decides.
	SemiSyncEnabled func() bool
	// SemiSyncStatus, when set, receives every change of
	// Rpl_semi_sync_replica_status (the plugin's status variable and its
	// UNINSTALL guard read it).
	SemiSyncStatus func(on bool)
	// WrapRelay, when set, wraps the relay log the IO thread writes to (a
	// test hook: a Flush that blocks shows the ACK waiting for it).
	WrapRelay func(RelayWriter) RelayWriter
	// Log receives the replica's log lines.
	Log *logrus.Entry
}

// Threads selects replication threads in START/STOP REPLICA.
type Threads uint8

// The replication threads.
const (
	IOThread   Threads = 1 << iota // the receiver: source → relay log
	SQLThread                      // the applier: relay log → data
	AllThreads = IOThread | SQLThread
)

// Warning is a condition MySQL reports as a warning: the statement
// succeeds and the client sees the warning (e.g. START REPLICA when the
// threads already run).
type Warning struct {
	Code    int
	Message string
}

func (w *Warning) Error() string { return w.Message }

// MySQL's errors for replication statements.
func errBadReplica() error {
	return mysql.NewSQLError(1200, "HY000", "The server is not configured as replica; fix in config file or with CHANGE REPLICATION SOURCE TO")
}

func errIOThreadMustStop() error {
	return mysql.NewSQLError(3021, "HY000", "This operation cannot be performed with a running replica io thread; run STOP REPLICA IO_THREAD FOR CHANNEL '' first.")
}

func errSQLThreadMustStop() error {
	return mysql.NewSQLError(3082, "HY000", "This operation cannot be performed with a running replica sql thread; run STOP REPLICA SQL_THREAD FOR CHANNEL '' first.")
}

func errThreadsMustStop() error {
	return mysql.NewSQLError(3081, "HY000", "This operation cannot be performed with running replication threads; run STOP REPLICA FOR CHANNEL '' first")
}

func errAutoPositionWithPos() error {
	return mysql.NewSQLError(1777, "HY000", "Parameters SOURCE_LOG_FILE, SOURCE_LOG_POS, RELAY_LOG_FILE and RELAY_LOG_POS cannot be set when SOURCE_AUTO_POSITION is active.")
}

// Replica is the replica side of a server: its configuration, relay log,
// IO thread and SQL thread, and what SHOW REPLICA STATUS reports. Its
// methods are safe for concurrent use; statements that change the
// configuration or the threads are serialised.
type Replica struct {
	cfg   Config
	log   *logrus.Entry
	relay *RelayLog

	semiEnabled atomic.Bool
	semiStatus  atomic.Bool
	netTimeout  atomic.Int64 // seconds

	// ctl serialises CHANGE/START/STOP/RESET and Close.
	ctl sync.Mutex

	mu     sync.Mutex
	st     state
	io     *ioThread
	sql    *sqlThread
	ioInfo ioStatus
	sqInfo sqlStatus
	closed bool
}

// ioStatus is the IO thread's part of SHOW REPLICA STATUS.
type ioStatus struct {
	running  string // Yes, Connecting, No
	state    string
	errno    int
	err      string
	errTime  time.Time
	read     binlog.Position // last event received
	clockLag int64           // local clock minus the source's, seconds
}

// sqlStatus is the SQL thread's part of SHOW REPLICA STATUS.
type sqlStatus struct {
	running  bool
	state    string
	errno    int
	err      string
	errTime  time.Time
	caughtUp bool
	eventTS  uint32 // source timestamp of the transaction being applied
}

// New opens the replica's relay log and metadata in cfg.DataDir. It
// starts no thread (see AutoStart).
func New(cfg Config) (*Replica, error) {
	if cfg.Log == nil {
		cfg.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	log := cfg.Log.WithField("component", "replica")
	st, err := loadState(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	relay, err := OpenRelayLog(cfg.DataDir, cfg.ServerID, log, cfg.FS)
	if err != nil {
		return nil, err
	}
	r := &Replica{cfg: cfg, log: log, relay: relay, st: st}
	r.netTimeout.Store(DefaultNetTimeout)
	r.ioInfo.running, r.sqInfo.running = "No", false
	if st.SQL.File == "" || !r.hasRelayFile(st.SQL.File) {
		// No recorded position, or its file is gone: the start of the
		// relay log (transactions already applied are skipped by GTID).
		r.st.SQL = RelayPos{File: relay.Files()[0]}
	}
	return r, nil
}

func (r *Replica) hasRelayFile(name string) bool {
	for _, f := range r.relay.Files() {
		if f == name {
			return true
		}
	}
	return false
}

// RelayLog returns the replica's relay log.
func (r *Replica) RelayLog() *RelayLog { return r.relay }

// SetSemiSyncEnabled is rpl_semi_sync_replica_enabled for a Replica built
// without Config.SemiSyncEnabled: whether the IO thread negotiates
// semi-sync the next time it connects (a running connection keeps what it
// negotiated, as in MySQL).
func (r *Replica) SetSemiSyncEnabled(on bool) { r.semiEnabled.Store(on) }

// SemiSyncEnabled reports rpl_semi_sync_replica_enabled.
func (r *Replica) SemiSyncEnabled() bool {
	if r.cfg.SemiSyncEnabled != nil {
		return r.cfg.SemiSyncEnabled()
	}
	return r.semiEnabled.Load()
}

// setSemiSyncStatus changes Rpl_semi_sync_replica_status.
func (r *Replica) setSemiSyncStatus(on bool) {
	if r.semiStatus.Swap(on) != on && r.cfg.SemiSyncStatus != nil {
		r.cfg.SemiSyncStatus(on)
	}
}

// SemiSyncStatus is Rpl_semi_sync_replica_status: true exactly while the
// IO thread runs on a connection where semi-sync was negotiated (enabled
// when it connected, and the source answered the probe).
func (r *Replica) SemiSyncStatus() bool { return r.semiStatus.Load() }

// SetNetTimeout is replica_net_timeout (seconds): a connection silent that
// long is considered dead and the IO thread reconnects. Applies at the
// next connection.
func (r *Replica) SetNetTimeout(seconds int64) {
	if seconds < 1 {
		seconds = 1
	}
	r.netTimeout.Store(seconds)
}

// Configured reports whether CHANGE REPLICATION SOURCE TO configured a
// source.
func (r *Replica) Configured() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Configured
}

// Running reports which threads run.
func (r *Replica) Running() Threads {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t Threads
	if r.io != nil {
		t |= IOThread
	}
	if r.sql != nil {
		t |= SQLThread
	}
	return t
}

// ChangeOptions are the options of CHANGE REPLICATION SOURCE TO; nil
// fields stay as they are.
type ChangeOptions struct {
	Host, User, Password, LogFile  *string
	Port, ConnectRetry, RetryCount *int
	LogPos                         *uint64
	AutoPosition                   *bool
	HeartbeatPeriod                *float64
	// SOURCE_SSL, SOURCE_SSL_CA, SOURCE_SSL_CAPATH, SOURCE_SSL_CERT,
	// SOURCE_SSL_KEY, SOURCE_SSL_VERIFY_SERVER_CERT (SourceConfig).
	SSL, SSLVerifyServerCert          *bool
	SSLCA, SSLCAPath, SSLCert, SSLKey *string
}

// Change is CHANGE REPLICATION SOURCE TO. The IO thread must be stopped
// (3021). Changing where replication reads from (host, port, log file or
// position, auto-position) purges the relay log, so the SQL thread must be
// stopped too (3082); a new host or port without a file and position
// starts from the source's first binlog. SOURCE_LOG_FILE/POS together with
// auto-position fail with 1777. The configuration is saved before Change
// returns.
func (r *Replica) Change(o ChangeOptions) error {
	r.ctl.Lock()
	defer r.ctl.Unlock()
	r.mu.Lock()
	ioRunning, sqlRunning := r.io != nil, r.sql != nil
	st := r.st
	r.mu.Unlock()
	if ioRunning {
		return errIOThreadMustStop()
	}
	auto := st.Source.AutoPosition
	if o.AutoPosition != nil {
		auto = *o.AutoPosition
	}
	if auto && (o.LogFile != nil || o.LogPos != nil) {
		return errAutoPositionWithPos()
	}
	if o.AutoPosition != nil && *o.AutoPosition && sqlRunning {
		return errThreadsMustStop()
	}
	repoint := o.Host != nil || o.Port != nil || o.LogFile != nil || o.LogPos != nil || o.AutoPosition != nil
	if repoint && sqlRunning {
		return errSQLThreadMustStop()
	}

	src := st.Source
	if o.Host != nil {
		src.Host = *o.Host
	}
	if o.Port != nil {
		src.Port = *o.Port
	}
	if o.User != nil {
		src.User = *o.User
	}
	if o.Password != nil {
		src.Password = *o.Password
	}
	if o.ConnectRetry != nil {
		src.ConnectRetry = *o.ConnectRetry
	}
	if o.RetryCount != nil {
		src.RetryCount = *o.RetryCount
	}
	if o.HeartbeatPeriod != nil {
		src.HeartbeatPeriod = *o.HeartbeatPeriod
	}
	for _, f := range []struct {
		from *string
		to   *string
	}{{o.SSLCA, &src.SSLCA}, {o.SSLCAPath, &src.SSLCAPath}, {o.SSLCert, &src.SSLCert}, {o.SSLKey, &src.SSLKey}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if o.SSL != nil {
		src.SSL = *o.SSL
	}
	if o.SSLVerifyServerCert != nil {
		src.SSLVerifyServerCert = *o.SSLVerifyServerCert
	}
	src.AutoPosition = auto

	if repoint {
		start := r.relay.SourcePos()
		if o.Host != nil || o.Port != nil {
			start = binlog.Position{Pos: binlog.FileHeaderLen}
		}
		if o.LogFile != nil {
			start.File = *o.LogFile
			if o.LogPos == nil {
				start.Pos = binlog.FileHeaderLen
			}
		}
		if o.LogPos != nil {
			start.Pos = *o.LogPos
		}
		if start.Pos < binlog.FileHeaderLen {
			start.Pos = binlog.FileHeaderLen
		}
		var named *binlog.Position // the relay log records a named start
		if start.File != "" {
			named = &start
		}
		if err := r.relay.Reset(named); err != nil {
			return err
		}
		st.SQL = RelayPos{File: r.relay.Files()[0]}
		st.Exec = start
	}
	st.Source = src
	st.Configured = true
	if o.Host != nil || o.Port != nil {
		st.SourceUUID, st.SourceServerID = "", 0
	}
	if err := saveState(r.cfg.FS, r.cfg.DataDir, st); err != nil {
		return err
	}
	r.mu.Lock()
	r.st = st
	if repoint {
		r.ioInfo.read = binlog.Position{}
	}
	r.mu.Unlock()
	r.log.WithFields(logrus.Fields{"source_host": src.Host, "source_port": src.Port, "source_user": src.User,
		"auto_position": src.AutoPosition, "source_log_file": st.Exec.File, "source_log_pos": st.Exec.Pos}).
		Info("replication source changed")
	return nil
}

// Start is START REPLICA [IO_THREAD | SQL_THREAD]. Without a configured
// source it fails with 1200; threads that already run are left alone, and
// when all asked for run it returns a *Warning (3083). The SQL thread's
// last error is cleared when it starts, the IO thread's likewise.
func (r *Replica) Start(t Threads) error {
	r.ctl.Lock()
	defer r.ctl.Unlock()
	return r.start(t)
}

func (r *Replica) start(t Threads) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("replica: server is shutting down")
	}
	if !r.st.Configured || (t&IOThread != 0 && r.io == nil && r.st.Source.Host == "") {
		// MySQL needs a source host before the receiver can start.
		return errBadReplica()
	}
	started := false
	if t&SQLThread != 0 && r.sql == nil {
		if r.cfg.Applier == nil {
			return mysql.NewSQLError(1201, "HY000", "Could not initialize applier metadata: this server has no applier")
		}
		r.sql = newSQLThread(r, r.st.SQL, r.st.Exec)
		r.sqInfo = sqlStatus{running: true, state: "Reading event from the relay log"}
		go r.sql.run()
		started = true
	}
	if t&IOThread != 0 && r.io == nil {
		var w RelayWriter = r.relay
		if r.cfg.WrapRelay != nil {
			w = r.cfg.WrapRelay(w)
		}
		r.io = newIOThread(r, r.st.Source, w)
		r.ioInfo = ioStatus{running: "Connecting", state: "Connecting to source", read: r.ioInfo.read, clockLag: r.ioInfo.clockLag}
		go r.io.run()
		started = true
	}
	if !started {
		return &Warning{Code: 3083, Message: "Replication thread(s) for channel '' are already runnning."}
	}
	return nil
}

// Stop is STOP REPLICA [IO_THREAD | SQL_THREAD]: it waits until the
// threads have ended (the SQL thread finishes the transaction it is
// applying). Stopping threads that do not run gives a *Warning (3084).
func (r *Replica) Stop(t Threads) error {
	r.ctl.Lock()
	defer r.ctl.Unlock()
	return r.stop(t, false)
}

func (r *Replica) stop(t Threads, interrupt bool) error {
	r.mu.Lock()
	io, sq := r.io, r.sql
	r.mu.Unlock()
	stopped := false
	if t&IOThread != 0 && io != nil {
		io.stopAndWait()
		stopped = true
	}
	if t&SQLThread != 0 && sq != nil {
		sq.stopAndWait(interrupt)
		stopped = true
	}
	if !stopped {
		return &Warning{Code: 3084, Message: "Replication thread(s) for channel '' are already stopped."}
	}
	return nil
}

// Reset is RESET REPLICA [ALL]: both threads must be stopped (3081). The
// relay log is deleted and the replication position forgotten (the next
// start reads from the source's first binlog, or by GTID); ALL also
// forgets the connection configuration, after which SHOW REPLICA STATUS
// is empty.
func (r *Replica) Reset(all bool) error {
	r.ctl.Lock()
	defer r.ctl.Unlock()
	r.mu.Lock()
	running := r.io != nil || r.sql != nil
	st := r.st
	r.mu.Unlock()
	if running {
		return errThreadsMustStop()
	}
	if err := r.relay.Reset(nil); err != nil {
		return err
	}
	st.SQL = RelayPos{File: r.relay.Files()[0]}
	st.Exec = binlog.Position{}
	if all {
		st = state{Source: defaultSource(), SQL: st.SQL}
	}
	if err := saveState(r.cfg.FS, r.cfg.DataDir, st); err != nil {
		return err
	}
	r.mu.Lock()
	r.st = st
	r.ioInfo = ioStatus{running: "No"}
	r.sqInfo = sqlStatus{}
	r.mu.Unlock()
	r.log.WithField("all", all).Info("replica reset")
	return nil
}

// AutoStart starts both threads when a source is configured, as MySQL
// does at server start (unless skip_replica_start). Failures are logged.
func (r *Replica) AutoStart() {
	if !r.Configured() {
		return
	}
	if err := r.Start(AllThreads); err != nil {
		r.log.WithError(err).Warn("could not start replication at server start")
		return
	}
	r.log.Info("replication started at server start")
}

// Close stops the threads and closes the relay log; the configuration and
// positions are kept, so the next server start resumes. It never blocks on
// the source (the IO thread's connection is closed) nor on a lock: the
// transaction being applied is interrupted and applied again at the next
// start.
func (r *Replica) Close() error {
	r.ctl.Lock()
	defer r.ctl.Unlock()
	_ = r.stop(AllThreads, true)
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.relay.Close()
}

// saveSQLPos records the SQL thread's position (called by it).
func (r *Replica) saveSQLPos(pos RelayPos, exec binlog.Position) error {
	r.mu.Lock()
	r.st.SQL, r.st.Exec = pos, exec
	st := r.st
	r.mu.Unlock()
	return saveState(r.cfg.FS, r.cfg.DataDir, st)
}

// setSourceIdentity records the source's UUID and server id.
func (r *Replica) setSourceIdentity(uuid string, id uint32) {
	r.mu.Lock()
	changed := r.st.SourceUUID != uuid || r.st.SourceServerID != id
	r.st.SourceUUID, r.st.SourceServerID = uuid, id
	st := r.st
	r.mu.Unlock()
	if changed {
		if err := saveState(r.cfg.FS, r.cfg.DataDir, st); err != nil {
			r.log.WithError(err).Warn("could not save the source's identity")
		}
	}
}

func (r *Replica) executed() *binlog.GTIDSet {
	if r.cfg.Executed == nil {
		return binlog.NewGTIDSet()
	}
	set, err := binlog.ParseGTIDSet(r.cfg.Executed())
	if err != nil {
		r.log.WithError(err).Warn("cannot parse gtid_executed")
		return binlog.NewGTIDSet()
	}
	return set
}

// Status is one row of SHOW REPLICA STATUS.
type Status struct {
	IOState                string
	SourceHost, SourceUser string
	SourcePort             int
	ConnectRetry           int
	SourceLogFile          string
	ReadSourceLogPos       uint64
	RelayLogFile           string
	RelayLogPos            uint64
	RelaySourceLogFile     string
	IORunning, SQLRunning  string
	ExecSourceLogPos       uint64
	RelayLogSpace          uint64
	// SecondsBehindSource is nil when unknown (NULL).
	SecondsBehindSource  *int64
	LastIOErrno          int
	LastIOError          string
	LastSQLErrno         int
	LastSQLError         string
	SourceServerID       uint32
	SourceUUID           string
	SQLRunningState      string
	SourceRetryCount     int
	LastIOErrorTimestamp string
	LastSQLErrorTime     string
	RetrievedGtidSet     string
	ExecutedGtidSet      string
	AutoPosition         bool
	HeartbeatPeriod      float64
	// The TLS settings (SourceConfig's SSL fields).
	SSL, SSLVerifyServerCert          bool
	SSLCA, SSLCAPath, SSLCert, SSLKey string
}

// Status returns SHOW REPLICA STATUS's row; ok is false when no source is
// configured (the statement returns an empty set).
func (r *Replica) Status() (s Status, ok bool) {
	r.mu.Lock()
	st, io, sq := r.st, r.ioInfo, r.sqInfo
	ioRunning, sqlRunning := r.io != nil, r.sql != nil
	r.mu.Unlock()
	if !st.Configured {
		return s, false
	}
	s = Status{
		SourceHost: st.Source.Host, SourceUser: st.Source.User, SourcePort: st.Source.Port,
		ConnectRetry: st.Source.ConnectRetry, SourceRetryCount: st.Source.RetryCount,
		AutoPosition: st.Source.AutoPosition, HeartbeatPeriod: st.Source.HeartbeatPeriod,
		SSL: st.Source.SSL, SSLCA: st.Source.SSLCA, SSLCAPath: st.Source.SSLCAPath, SSLCert: st.Source.SSLCert,
		SSLKey: st.Source.SSLKey, SSLVerifyServerCert: st.Source.SSLVerifyServerCert,
		SourceServerID: st.SourceServerID, SourceUUID: st.SourceUUID,
		RelayLogFile: st.SQL.File, RelayLogPos: st.SQL.Pos,
		RelaySourceLogFile: st.Exec.File, ExecSourceLogPos: st.Exec.Pos,
		IORunning: "No", SQLRunning: "No",
		LastIOErrno: io.errno, LastIOError: io.err,
		LastSQLErrno: sq.errno, LastSQLError: sq.err,
		RetrievedGtidSet: r.relay.Retrieved().String(),
		ExecutedGtidSet:  r.executed().String(),
		RelayLogSpace:    r.relay.Space(),
	}
	read := io.read
	if read.File == "" && read.Pos == 0 {
		read = r.relay.SourcePos()
	}
	if read.Pos == 0 {
		read.Pos = binlog.FileHeaderLen
	}
	s.SourceLogFile, s.ReadSourceLogPos = read.File, read.Pos
	if ioRunning {
		s.IORunning, s.IOState = io.running, io.state
	}
	if sqlRunning {
		s.SQLRunning, s.SQLRunningState = "Yes", sq.state
		switch {
		case sq.caughtUp && ioRunning && io.running == "Yes":
			zero := int64(0)
			s.SecondsBehindSource = &zero
		case sq.caughtUp:
		case sq.eventTS != 0:
			lag := time.Now().Unix() - io.clockLag - int64(sq.eventTS)
			lag = int64(math.Max(0, float64(lag)))
			s.SecondsBehindSource = &lag
		}
	}
	if !io.errTime.IsZero() {
		s.LastIOErrorTimestamp = io.errTime.Format("060102 15:04:05")
	}
	if !sq.errTime.IsZero() {
		s.LastSQLErrorTime = sq.errTime.Format("060102 15:04:05")
	}
	return s, true
}

// ioUpdate changes the IO thread's status under the lock.
func (r *Replica) ioUpdate(f func(*ioStatus)) {
	r.mu.Lock()
	f(&r.ioInfo)
	r.mu.Unlock()
}

// sqlUpdate changes the SQL thread's status under the lock.
func (r *Replica) sqlUpdate(f func(*sqlStatus)) {
	r.mu.Lock()
	f(&r.sqInfo)
	r.mu.Unlock()
}

// ioEnded is called by the IO thread when it exits.
func (r *Replica) ioEnded(t *ioThread) {
	r.setSemiSyncStatus(false)
	r.mu.Lock()
	if r.io == t {
		r.io = nil
	}
	r.ioInfo.running, r.ioInfo.state = "No", ""
	r.mu.Unlock()
}

// sqlEnded is called by the SQL thread when it exits.
func (r *Replica) sqlEnded(t *sqlThread) {
	r.mu.Lock()
	if r.sql == t {
		r.sql = nil
	}
	r.sqInfo.running, r.sqInfo.state = false, ""
	r.mu.Unlock()
}
