package sqlserver

// The replica's SQL surface: CHANGE REPLICATION SOURCE TO / CHANGE MASTER
// TO, START|STOP REPLICA|SLAVE [IO_THREAD|SQL_THREAD], RESET REPLICA|SLAVE
// [ALL], SHOW REPLICA|SLAVE STATUS, and the replica's system variables.
// vitess parses only part of these (docs/gms-notes.md §3.3), so every form goes
// through the parser hook, which is tried before the grammar.

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/semisyncd/semisyncd/replica"
)

// Replica returns the replica side of the server:
// the semi-sync replica plugin drives it through SetSemiSyncEnabled and
// reads SemiSyncStatus.
func (s *Server) Replica() *replica.Replica { return s.replica }

// setupReplica opens the replica (relay log, metadata) and registers its
// statements and variables. It needs the binlog: the applier commits
// through it with the source's GTIDs.
func (s *Server) setupReplica(port int) error {
	st := s.backend
	r, err := replica.New(replica.Config{
		DataDir:    s.cfg.DataDir,
		FS:         s.cfg.FS,
		ServerID:   s.serverID(),
		ServerUUID: s.cfg.ServerUUID,
		ReportPort: port,
		Applier:    &replica.EngineApplier{Engine: s.engine, Storage: st, User: s.cfg.User, MapError: mapError, Replica: true},
		Executed:   s.repl.w.Executed,
		// The semi-sync replica plugin: its variable is read at each
		// connection, its status follows the IO thread.
		SemiSyncEnabled: s.vars.Replica.Config.Enabled.Load,
		SemiSyncStatus:  s.vars.Replica.Status.Status.Store,
		Log:             s.log,
	})
	if err != nil {
		return err
	}
	s.replica = r
	s.registerReplicaStatements()
	s.replicaVariables()
	return nil
}

// startReplica starts replication at server start, as MySQL does when a
// source is configured and skip_replica_start is off.
func (s *Server) startReplica() {
	if !s.cfg.SkipReplicaStart {
		s.replica.AutoStart()
	}
}

var (
	reChange     = regexp.MustCompile(`^CHANGE (REPLICATION SOURCE|MASTER) TO( |$)`)
	reStartStop  = regexp.MustCompile(`^(START|STOP) (REPLICA|SLAVE)( |;|$)`)
	reReset      = regexp.MustCompile(`^RESET (REPLICA|SLAVE)( |;|$)`)
	reShowStatus = regexp.MustCompile(`^SHOW (REPLICA|SLAVE) STATUS( |;|$)`)
)

// deprecated is MySQL 8.0's warning 1287 for the old statement names.
func deprecated(ctx *sql.Context, old, repl string) {
	ctx.Warn(1287, "'%s' is deprecated and will be removed in a future release. Please use %s instead", old, repl)
}

func (s *Server) registerReplicaStatements() {
	r := s.replica
	p := s.parser
	adminAuth := GlobalAuth(ast.AuthType_REPLICATION)

	p.RegisterStatement(reChange.MatchString, func(_ *sql.Context, q string) (ast.Statement, error) {
		opts, old, err := parseChangeSource(q)
		if err != nil {
			return nil, err
		}
		return Statement("CHANGE REPLICATION SOURCE", nil, adminAuth, func(ctx *sql.Context) ([]sql.Row, error) {
			if old {
				deprecated(ctx, "CHANGE MASTER", "CHANGE REPLICATION SOURCE")
			}
			if err := r.Change(opts); err != nil {
				return nil, err
			}
			if opts.Password != nil && !sessionTLS(ctx) {
				// As MySQL: the statement carried a password over this client's connection.
				ctx.Warn(1759, "Sending passwords in plain text without SSL/TLS is extremely insecure.")
			}
			if opts.User != nil || opts.Password != nil {
				ctx.Warn(1760, "Storing MySQL user name or password information in the connection metadata repository is not secure and is therefore not recommended. Please consider using the USER and PASSWORD connection options for START REPLICA; see the 'START REPLICA Syntax' in the MySQL Manual for more information.")
			}
			return nil, nil
		}), nil
	})

	p.RegisterStatement(reStartStop.MatchString, func(_ *sql.Context, q string) (ast.Statement, error) {
		verb, old, threads, err := parseStartStop(q)
		if err != nil {
			return nil, err
		}
		return Statement(verb+" REPLICA", nil, adminAuth, func(ctx *sql.Context) ([]sql.Row, error) {
			if old {
				deprecated(ctx, verb+" SLAVE", verb+" REPLICA")
			}
			var err error
			if verb == "START" {
				err = r.Start(threads)
			} else {
				err = r.Stop(threads)
			}
			var w *replica.Warning
			if errors.As(err, &w) {
				ctx.Warn(w.Code, "%s", w.Message)
				return nil, nil
			}
			return nil, err
		}), nil
	})

	p.RegisterStatement(reReset.MatchString, func(_ *sql.Context, q string) (ast.Statement, error) {
		toks, err := tokenize(q)
		if err != nil {
			return nil, err
		}
		old := strings.EqualFold(toks[1].text, "SLAVE")
		rest := toks[2:]
		all := false
		if len(rest) > 0 && rest[0].is("ALL") {
			all, rest = true, rest[1:]
		}
		if rest, err = channelClause(q, rest); err != nil {
			return nil, err
		}
		if len(rest) > 0 {
			return nil, errSyntax(rest[0].from(q))
		}
		return Statement("RESET REPLICA", nil, GlobalAuth(ast.AuthType_RELOAD), func(ctx *sql.Context) ([]sql.Row, error) {
			if old {
				deprecated(ctx, "RESET SLAVE", "RESET REPLICA")
			}
			return nil, r.Reset(all)
		}), nil
	})

	p.RegisterStatement(reShowStatus.MatchString, func(_ *sql.Context, q string) (ast.Statement, error) {
		toks, err := tokenize(q)
		if err != nil {
			return nil, err
		}
		old := strings.EqualFold(toks[1].text, "SLAVE")
		rest, err := channelClause(q, toks[3:])
		if err != nil {
			return nil, err
		}
		if len(rest) > 0 {
			return nil, errSyntax(rest[0].from(q))
		}
		sch := replicaStatusSchema(old)
		return Statement("SHOW REPLICA STATUS", sch, GlobalAuth(ast.AuthType_REPLICATION_CLIENT), func(ctx *sql.Context) ([]sql.Row, error) {
			if old {
				deprecated(ctx, "SHOW SLAVE STATUS", "SHOW REPLICA STATUS")
			}
			st, ok := r.Status()
			if !ok {
				return nil, nil
			}
			return []sql.Row{replicaStatusRow(st, filepath.Join(s.cfg.DataDir, "replica.json"))}, nil
		}), nil
	})
}

// token is one lexical token of a replication statement.
type token struct {
	kind byte // 'w' word, 's' string, 'n' number, or the punctuation itself
	text string
	pos  int // offset in the statement
}

func (t token) is(word string) bool { return t.kind == 'w' && strings.EqualFold(t.text, word) }

// from returns the statement text from the token on (for 1064's "near").
func (t token) from(q string) string { return q[t.pos:] }

// tokenize splits a replication statement into words, quoted strings,
// numbers and the punctuation '=' ','.
func tokenize(q string) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		if n := commentLen(q[i:]); n > 0 {
			i += n
			continue
		}
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';':
			i++
		case c == '=' || c == ',':
			out = append(out, token{kind: c, text: string(c), pos: i})
			i++
		case c == '\'' || c == '"':
			end := quoteEnd(q, i)
			if end > len(q) || end-1 <= i || q[end-1] != c {
				return nil, errSyntax(q[i:])
			}
			out = append(out, token{kind: 's', text: unquote(q[i+1:end-1], c), pos: i})
			i = end
		case c >= '0' && c <= '9' || c == '.' || c == '-':
			j := i + 1
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
				j++
			}
			out = append(out, token{kind: 'n', text: q[i:j], pos: i})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, token{kind: 'w', text: q[i:j], pos: i})
			i = j
		default:
			return nil, errSyntax(q[i:])
		}
	}
	return out, nil
}

// unquote resolves a quoted string's escapes (doubled quote, backslash).
func unquote(s string, q byte) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// channelClause consumes a trailing FOR CHANNEL 'name': only the default
// channel ” exists (3074 for any other).
func channelClause(q string, toks []token) ([]token, error) {
	if len(toks) < 2 || !toks[0].is("FOR") || !toks[1].is("CHANNEL") {
		return toks, nil
	}
	if len(toks) < 3 || toks[2].kind != 's' {
		return nil, errSyntax(toks[0].from(q))
	}
	if toks[2].text != "" {
		return nil, mysql.NewSQLError(3074, "HY000", "Replica channel '%s' does not exist.", toks[2].text)
	}
	return toks[3:], nil
}

func errNotSupported(what string) error {
	return mysql.NewSQLError(1235, "42000", "This version of MySQL doesn't yet support '%s'", what)
}

// parseStartStop parses START|STOP REPLICA|SLAVE [IO_THREAD | SQL_THREAD
// [, …]] [FOR CHANNEL ”].
func parseStartStop(q string) (verb string, old bool, threads replica.Threads, err error) {
	toks, err := tokenize(q)
	if err != nil {
		return "", false, 0, err
	}
	verb = strings.ToUpper(toks[0].text)
	old = strings.EqualFold(toks[1].text, "SLAVE")
	rest := toks[2:]
	for len(rest) > 0 {
		switch {
		case rest[0].is("IO_THREAD"):
			threads |= replica.IOThread
		case rest[0].is("SQL_THREAD"):
			threads |= replica.SQLThread
		default:
			goto tail
		}
		rest = rest[1:]
		if len(rest) > 0 && rest[0].kind == ',' {
			rest = rest[1:]
			if len(rest) == 0 {
				return "", false, 0, errSyntax("")
			}
		}
	}
tail:
	if len(rest) > 0 && (rest[0].is("UNTIL") || rest[0].is("USER") || rest[0].is("PASSWORD") || rest[0].is("DEFAULT_AUTH") || rest[0].is("PLUGIN_DIR")) {
		return "", false, 0, errNotSupported(verb + " REPLICA " + strings.ToUpper(rest[0].text))
	}
	if rest, err = channelClause(q, rest); err != nil {
		return "", false, 0, err
	}
	if len(rest) > 0 {
		return "", false, 0, errSyntax(rest[0].from(q))
	}
	if threads == 0 {
		threads = replica.AllThreads
	}
	return verb, old, threads, nil
}

// parseChangeSource parses CHANGE REPLICATION SOURCE TO / CHANGE MASTER TO
// with SOURCE_ or MASTER_ options (MySQL's grammar accepts either prefix in
// either statement).
func parseChangeSource(q string) (o replica.ChangeOptions, old bool, err error) {
	toks, err := tokenize(q)
	if err != nil {
		return o, false, err
	}
	old = toks[1].is("MASTER")
	rest := toks[3:]
	if old {
		rest = toks[2:]
	}
	rest = rest[1:] // TO
	if len(rest) == 0 {
		return o, old, errSyntax("")
	}
	seen := map[string]bool{}
	for len(rest) > 0 && !rest[0].is("FOR") {
		if len(rest) < 3 || rest[0].kind != 'w' || rest[1].kind != '=' {
			return o, old, errSyntax(rest[0].from(q))
		}
		name, val := strings.ToUpper(rest[0].text), rest[2]
		if name == "GET_SOURCE_PUBLIC_KEY" || name == "GET_MASTER_PUBLIC_KEY" {
			name = "SOURCE_GET_PUBLIC_KEY" // accepted; no RSA key exchange is needed
		}
		opt, ok := strings.CutPrefix(name, "SOURCE_")
		if !ok {
			opt, ok = strings.CutPrefix(name, "MASTER_")
		}
		if !ok {
			return o, old, errSyntax(rest[0].from(q))
		}
		if seen[opt] {
			return o, old, errSyntax(rest[0].from(q))
		}
		seen[opt] = true
		str := func() (*string, error) {
			if val.kind != 's' {
				return nil, errSyntax(val.from(q))
			}
			v := val.text
			return &v, nil
		}
		num := func(max uint64) (uint64, error) {
			if val.kind != 'n' || strings.ContainsAny(val.text, ".-") {
				return 0, errSyntax(val.from(q))
			}
			n, err := strconv.ParseUint(val.text, 10, 64)
			if err != nil || n > max {
				return 0, errSyntax(val.from(q))
			}
			return n, nil
		}
		intOpt := func(max uint64) (*int, error) {
			n, err := num(max)
			if err != nil {
				return nil, err
			}
			v := int(n)
			return &v, nil
		}
		switch opt {
		case "HOST":
			if o.Host, err = str(); err == nil && len(*o.Host) > 255 {
				err = mysql.NewSQLError(1470, "HY000", "String '%s' is too long for host name (should be no longer than 255)", *o.Host)
			}
		case "USER":
			if o.User, err = str(); err == nil && len(*o.User) > 32 {
				err = mysql.NewSQLError(1470, "HY000", "String '%s' is too long for user name (should be no longer than 32)", *o.User)
			}
		case "PASSWORD":
			o.Password, err = str()
		case "LOG_FILE":
			o.LogFile, err = str()
		case "LOG_POS":
			var n uint64
			if n, err = num(1<<63 - 1); err == nil {
				o.LogPos = &n
			}
		case "PORT":
			o.Port, err = intOpt(65535)
		case "CONNECT_RETRY":
			o.ConnectRetry, err = intOpt(31536000)
		case "RETRY_COUNT":
			o.RetryCount, err = intOpt(1<<31 - 1)
		case "AUTO_POSITION":
			var n uint64
			if n, err = num(1); err == nil {
				v := n == 1
				o.AutoPosition = &v
			}
		case "HEARTBEAT_PERIOD":
			if val.kind != 'n' {
				err = errSyntax(val.from(q))
				break
			}
			f, perr := strconv.ParseFloat(val.text, 64)
			if perr != nil {
				err = errSyntax(val.from(q))
				break
			}
			if f < 0 || f > 4294967 {
				err = mysql.NewSQLError(1703, "HY000", "The requested value for the heartbeat period is either negative or exceeds the maximum allowed (4294967 seconds).")
				break
			}
			o.HeartbeatPeriod = &f
		case "SSL", "SSL_VERIFY_SERVER_CERT":
			// MySQL's grammar takes any number; non-zero is on.
			var n uint64
			if n, err = num(1<<31 - 1); err == nil {
				on := n != 0
				if opt == "SSL" {
					o.SSL = &on
				} else {
					o.SSLVerifyServerCert = &on
				}
			}
		case "SSL_CA":
			o.SSLCA, err = str()
		case "SSL_CAPATH":
			o.SSLCAPath, err = str()
		case "SSL_CERT":
			o.SSLCert, err = str()
		case "SSL_KEY":
			o.SSLKey, err = str()
		case "DELAY":
			// Accepted when off: this server has no delayed apply.
			var n uint64
			if n, err = num(1<<31 - 1); err == nil && n != 0 {
				err = errNotSupported("CHANGE REPLICATION SOURCE TO " + name + " = " + val.text)
			}
		case "GET_PUBLIC_KEY":
			_, err = num(1)
		default:
			if strings.HasPrefix(opt, "SSL_") || strings.HasPrefix(opt, "TLS_") || opt == "BIND" || opt == "COMPRESSION_ALGORITHMS" ||
				opt == "ZSTD_COMPRESSION_LEVEL" || opt == "PUBLIC_KEY_PATH" {
				err = errNotSupported("CHANGE REPLICATION SOURCE TO " + name)
			} else {
				err = errSyntax(rest[0].from(q))
			}
		}
		if err != nil {
			return o, old, err
		}
		rest = rest[3:]
		if len(rest) > 0 && rest[0].kind == ',' {
			rest = rest[1:]
			if len(rest) == 0 {
				return o, old, errSyntax("")
			}
		} else if len(rest) > 0 && !rest[0].is("FOR") {
			return o, old, errSyntax(rest[0].from(q))
		}
	}
	if len(seen) == 0 {
		return o, old, errSyntax(q)
	}
	if rest, err = channelClause(q, rest); err != nil {
		return o, old, err
	}
	if len(rest) > 0 {
		return o, old, errSyntax(rest[0].from(q))
	}
	return o, old, nil
}

// replicaStatusColumns are SHOW REPLICA STATUS's columns in MySQL 8.0's
// order, with SHOW SLAVE STATUS's old name beside each.
var replicaStatusColumns = []struct {
	name, old string
	typ       sql.Type
}{
	{"Replica_IO_State", "Slave_IO_State", types.Text},
	{"Source_Host", "Master_Host", types.Text},
	{"Source_User", "Master_User", types.Text},
	{"Source_Port", "Master_Port", types.Uint32},
	{"Connect_Retry", "Connect_Retry", types.Uint32},
	{"Source_Log_File", "Master_Log_File", types.Text},
	{"Read_Source_Log_Pos", "Read_Master_Log_Pos", types.Uint64},
	{"Relay_Log_File", "Relay_Log_File", types.Text},
	{"Relay_Log_Pos", "Relay_Log_Pos", types.Uint64},
	{"Relay_Source_Log_File", "Relay_Master_Log_File", types.Text},
	{"Replica_IO_Running", "Slave_IO_Running", types.Text},
	{"Replica_SQL_Running", "Slave_SQL_Running", types.Text},
	{"Replicate_Do_DB", "Replicate_Do_DB", types.Text},
	{"Replicate_Ignore_DB", "Replicate_Ignore_DB", types.Text},
	{"Replicate_Do_Table", "Replicate_Do_Table", types.Text},
	{"Replicate_Ignore_Table", "Replicate_Ignore_Table", types.Text},
	{"Replicate_Wild_Do_Table", "Replicate_Wild_Do_Table", types.Text},
	{"Replicate_Wild_Ignore_Table", "Replicate_Wild_Ignore_Table", types.Text},
	{"Last_Errno", "Last_Errno", types.Int64},
	{"Last_Error", "Last_Error", types.Text},
	{"Skip_Counter", "Skip_Counter", types.Uint32},
	{"Exec_Source_Log_Pos", "Exec_Master_Log_Pos", types.Uint64},
	{"Relay_Log_Space", "Relay_Log_Space", types.Uint64},
	{"Until_Condition", "Until_Condition", types.Text},
	{"Until_Log_File", "Until_Log_File", types.Text},
	{"Until_Log_Pos", "Until_Log_Pos", types.Uint64},
	{"Source_SSL_Allowed", "Master_SSL_Allowed", types.Text},
	{"Source_SSL_CA_File", "Master_SSL_CA_File", types.Text},
	{"Source_SSL_CA_Path", "Master_SSL_CA_Path", types.Text},
	{"Source_SSL_Cert", "Master_SSL_Cert", types.Text},
	{"Source_SSL_Cipher", "Master_SSL_Cipher", types.Text},
	{"Source_SSL_Key", "Master_SSL_Key", types.Text},
	{"Seconds_Behind_Source", "Seconds_Behind_Master", types.Int64},
	{"Source_SSL_Verify_Server_Cert", "Master_SSL_Verify_Server_Cert", types.Text},
	{"Last_IO_Errno", "Last_IO_Errno", types.Int64},
	{"Last_IO_Error", "Last_IO_Error", types.Text},
	{"Last_SQL_Errno", "Last_SQL_Errno", types.Int64},
	{"Last_SQL_Error", "Last_SQL_Error", types.Text},
	{"Replicate_Ignore_Server_Ids", "Replicate_Ignore_Server_Ids", types.Text},
	{"Source_Server_Id", "Master_Server_Id", types.Uint32},
	{"Source_UUID", "Master_UUID", types.Text},
	{"Source_Info_File", "Master_Info_File", types.Text},
	{"SQL_Delay", "SQL_Delay", types.Uint32},
	{"SQL_Remaining_Delay", "SQL_Remaining_Delay", types.Uint32},
	{"Replica_SQL_Running_State", "Slave_SQL_Running_State", types.Text},
	{"Source_Retry_Count", "Master_Retry_Count", types.Uint64},
	{"Source_Bind", "Master_Bind", types.Text},
	{"Last_IO_Error_Timestamp", "Last_IO_Error_Timestamp", types.Text},
	{"Last_SQL_Error_Timestamp", "Last_SQL_Error_Timestamp", types.Text},
	{"Source_SSL_Crl", "Master_SSL_Crl", types.Text},
	{"Source_SSL_Crlpath", "Master_SSL_Crlpath", types.Text},
	{"Retrieved_Gtid_Set", "Retrieved_Gtid_Set", types.Text},
	{"Executed_Gtid_Set", "Executed_Gtid_Set", types.Text},
	{"Auto_Position", "Auto_Position", types.Int32},
	{"Replicate_Rewrite_DB", "Replicate_Rewrite_DB", types.Text},
	{"Channel_Name", "Channel_Name", types.Text},
	{"Source_TLS_Version", "Master_TLS_Version", types.Text},
	{"Source_public_key_path", "Master_public_key_path", types.Text},
	{"Get_Source_public_key", "Get_master_public_key", types.Int32},
	{"Network_Namespace", "Network_Namespace", types.Text},
}

func replicaStatusSchema(old bool) sql.Schema {
	sch := make(sql.Schema, len(replicaStatusColumns))
	for i, c := range replicaStatusColumns {
		name := c.name
		if old {
			name = c.old
		}
		sch[i] = &sql.Column{Name: name, Type: c.typ, Nullable: true}
	}
	return sch
}

// replicaYesNo is SHOW REPLICA STATUS's rendering of a flag ("Yes", "No").
func replicaYesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// replicaStatusRow renders a Status in replicaStatusColumns' order.
func replicaStatusRow(st replica.Status, infoFile string) sql.Row {
	var behind interface{}
	if st.SecondsBehindSource != nil {
		behind = *st.SecondsBehindSource
	}
	auto := int32(0)
	if st.AutoPosition {
		auto = 1
	}
	lastErrno, lastErr := st.LastSQLErrno, st.LastSQLError
	return sql.NewRow(
		st.IOState, st.SourceHost, st.SourceUser, uint32(st.SourcePort), uint32(st.ConnectRetry),
		st.SourceLogFile, st.ReadSourceLogPos, st.RelayLogFile, st.RelayLogPos, st.RelaySourceLogFile,
		st.IORunning, st.SQLRunning,
		"", "", "", "", "", "",
		int64(lastErrno), lastErr, uint32(0), st.ExecSourceLogPos, st.RelayLogSpace,
		"None", "", uint64(0),
		replicaYesNo(st.SSL), st.SSLCA, st.SSLCAPath, st.SSLCert, "", st.SSLKey,
		behind, replicaYesNo(st.SSLVerifyServerCert),
		int64(st.LastIOErrno), st.LastIOError, int64(st.LastSQLErrno), st.LastSQLError,
		"", st.SourceServerID, st.SourceUUID, infoFile,
		uint32(0), nil, st.SQLRunningState, uint64(st.SourceRetryCount), "",
		st.LastIOErrorTimestamp, st.LastSQLErrorTime,
		"", "",
		st.RetrievedGtidSet, st.ExecutedGtidSet, auto,
		"", "", "", "", int32(0), "",
	)
}

// replicaVariables registers the replica's system variables.
func (s *Server) replicaVariables() {
	r := s.replica
	global := sql.GetMysqlScope(sql.SystemVariableScope_Global)
	toInt := func(v sql.SystemVarValue) int64 {
		n, _, _ := types.Int64.Convert(context.Background(), v.Val)
		i, _ := n.(int64)
		return i
	}
	netTimeout := func(name string) sql.SystemVariable {
		return &sql.MysqlSystemVariable{Name: name, Scope: global, Dynamic: true,
			Type: types.NewSystemIntType(name, 1, 31536000, false), Default: int64(replica.DefaultNetTimeout),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				r.SetNetTimeout(toInt(v))
				return nil
			}}
	}
	skip := int8(0)
	if s.cfg.SkipReplicaStart {
		skip = 1
	}
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{
		&sql.MysqlSystemVariable{Name: "sync_relay_log", Scope: global, Dynamic: true,
			Type: types.NewSystemUintType("sync_relay_log", 0, 4294967295), Default: uint64(10000),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				r.RelayLog().SetSyncRelayLog(toInt(v))
				return nil
			}},
		&sql.MysqlSystemVariable{Name: "max_relay_log_size", Scope: global, Dynamic: true,
			Type: types.NewSystemUintType("max_relay_log_size", 0, 1073741824), Default: uint64(0),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				r.RelayLog().SetMaxSize(uint64(toInt(v)))
				return nil
			}},
		netTimeout("replica_net_timeout"),
		netTimeout("slave_net_timeout"),
		&sql.MysqlSystemVariable{Name: "skip_replica_start", Scope: global, Type: types.NewSystemBoolType("skip_replica_start"), Default: skip},
		&sql.MysqlSystemVariable{Name: "skip_slave_start", Scope: global, Type: types.NewSystemBoolType("skip_slave_start"), Default: skip},
		&sql.MysqlSystemVariable{Name: "relay_log_basename", Scope: global, Type: types.NewSystemStringType("relay_log_basename"),
			Default: filepath.Join(s.cfg.DataDir, "relay-bin")},
		&sql.MysqlSystemVariable{Name: "relay_log_index", Scope: global, Type: types.NewSystemStringType("relay_log_index"),
			Default: filepath.Join(s.cfg.DataDir, "relay-bin.index")},
	})
}
