package sqlserver

// Semi-sync as SQL sees it: the plugins registry (INSTALL/UNINSTALL PLUGIN, SHOW PLUGINS,
// information_schema.PLUGINS, --plugin-load) and the sysvars state (rpl_semi_sync_* variables,
// Rpl_semi_sync_* status, FLUSH STATUS), wired into the engine at the places GMS offers.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/sirupsen/logrus"

	"github.com/semisyncd/semisyncd/plugins"
	"github.com/semisyncd/semisyncd/plugins/semisync"
	"github.com/semisyncd/semisyncd/sysvars"
)

// DefaultPluginDir is @@plugin_dir when Config.PluginDir is empty: where Debian's MySQL and
// MariaDB packages keep plugins. semisyncd loads nothing from it; errors name paths in it.
const DefaultPluginDir = "/usr/lib/mysql/plugin/"

// newSemisync returns the server's semi-sync state with the configured start values. Errors:
// a start value mysqld would refuse.
func newSemisync(cfg Config, log *logrus.Entry) (*sysvars.State, error) {
	state := sysvars.New()
	warnings, err := state.SetStartupValues(cfg.SemisyncOptions)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: %w", err)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	return state, nil
}

// installPlugins builds the plugins registry on the analyzer's account database and puts
// information_schema.PLUGINS into the analyzer's catalog. GMS builds information_schema from
// a package-level table list, so the catalog's copy is rebuilt after the registry's table is
// added to it (docs/gms-notes.md §7).
func (s *Server) installPlugins(a *analyzer.Analyzer) {
	s.plugins = plugins.New(s.vars, plugins.Options{
		PluginDir:  s.cfg.PluginDir,
		Store:      pluginFile{path: filepath.Join(s.cfg.DataDir, pluginsFile)},
		Privileges: a.Catalog.MySQLDb,
		Log:        s.log,
	})
	information_schema.NewInformationSchemaTablesToAdd[information_schema.PluginsTableName] = s.plugins.InformationSchemaTable()
	information_schema.NewInformationSchemaTablesToAdd[replicasTableName] = s.replicasTable()
	information_schema.NewInformationSchemaTablesToAdd[information_schema.ProcessListTableName] = s.processListTable()
	a.Catalog.InfoSchema = information_schema.NewInformationSchemaDatabase()
}

// registerSemisyncStatements adds the statements vitess does not parse, or GMS refuses:
// INSTALL PLUGIN, UNINSTALL PLUGIN, SHOW PLUGINS (MySQL's five columns, where GMS shows
// information_schema's eleven) and FLUSH [LOCAL | NO_WRITE_TO_BINLOG] STATUS.
func (s *Server) registerSemisyncStatements() {
	s.parser.RegisterStatement(
		func(p string) bool { return firstWord(p) == "INSTALL" },
		func(_ *sql.Context, query string) (ast.Statement, error) {
			name, soname, err := plugins.ParseInstall(query)
			if err != nil {
				return nil, err
			}
			return Statement("INSTALL PLUGIN "+name, nil, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				return nil, s.plugins.Install(ctx, name, soname)
			}), nil
		})
	s.parser.RegisterStatement(
		func(p string) bool { return firstWord(p) == "UNINSTALL" },
		func(_ *sql.Context, query string) (ast.Statement, error) {
			name, err := plugins.ParseUninstall(query)
			if err != nil {
				return nil, err
			}
			return Statement("UNINSTALL PLUGIN "+name, nil, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				return nil, s.plugins.Uninstall(ctx, name)
			}), nil
		})
	s.parser.RegisterStatement(
		func(p string) bool { return wholeStatement(p) == "SHOW PLUGINS" },
		func(*sql.Context, string) (ast.Statement, error) {
			return Statement("SHOW PLUGINS", plugins.ShowPluginsSchema, NoAuth, func(*sql.Context) ([]sql.Row, error) {
				return s.plugins.ShowPlugins(), nil
			}), nil
		})
	s.parser.RegisterStatement(
		func(p string) bool {
			switch wholeStatement(p) {
			case "FLUSH STATUS", "FLUSH LOCAL STATUS", "FLUSH NO_WRITE_TO_BINLOG STATUS":
				return true
			}
			return false
		},
		func(*sql.Context, string) (ast.Statement, error) {
			return Statement("FLUSH STATUS", nil, GlobalAuth(ast.AuthType_RELOAD), func(*sql.Context) ([]sql.Row, error) {
				s.vars.FlushStatus()
				return nil, nil
			}), nil
		})
}

// attachSource connects the semi-sync source runtime to the variables: INSTALL and UNINSTALL
// of a source family switch it on and off, the family's variables reach it when set, SHOW
// STATUS reads its counters (as MySQL's status functions call setExportStats), FLUSH STATUS
// resets them, and UNINSTALL asks it whether semi-sync replicas are connected (1883).
func (s *Server) attachSource(src *semisync.Source) {
	vars := s.vars
	cfg := &vars.Source.Config
	apply := func(v sysvars.Var) {
		switch v {
		case sysvars.SourceEnabled:
			src.SetEnabled(cfg.Enabled.Load())
		case sysvars.SourceTimeout:
			src.SetTimeout(millis(cfg.TimeoutMillis.Load()))
		case sysvars.SourceTraceLevel:
			src.SetTraceLevel(int64(cfg.TraceLevel.Load()))
		case sysvars.SourceWaitNoReplica:
			src.SetWaitNoReplica(cfg.WaitNoReplica.Load())
		case sysvars.SourceWaitPoint:
			src.SetWaitPoint(semisync.WaitPoint(cfg.WaitPoint.Load()))
		case sysvars.SourceWaitForReplicaCount:
			src.SetWaitCount(int(cfg.WaitForReplicaCount.Load()))
		}
	}
	vars.Subscribe(func(e sysvars.Event) {
		switch {
		case e.Kind == sysvars.StatusFlushed:
			src.FlushStatus()
		case e.Family.Role() != sysvars.RoleSource:
		case e.Kind == sysvars.Installed:
			src.SetActive(true)
			for _, v := range []sysvars.Var{sysvars.SourceTimeout, sysvars.SourceTraceLevel, sysvars.SourceWaitNoReplica,
				sysvars.SourceWaitPoint, sysvars.SourceWaitForReplicaCount} {
				apply(v)
			}
			if cfg.Enabled.Load() {
				apply(sysvars.SourceEnabled)
			}
		case e.Kind == sysvars.Uninstalled:
			src.SetActive(false)
		case e.Kind == sysvars.VarChanged:
			apply(e.Var)
		}
	})
	vars.SetStatusRefresh(func() {
		c, st := src.Counters(), &vars.Source.Status
		st.Status.Store(src.Status())
		st.Clients.Store(int64(c.Clients))
		st.WaitSessions.Store(int64(c.WaitSessions))
		st.YesTx.Store(c.YesTx)
		st.NoTx.Store(c.NoTx)
		st.NoTimes.Store(c.NoTimes)
		st.TimefuncFailures.Store(c.TimefuncFailures)
		st.WaitPosBacktraverse.Store(c.WaitPosBacktraverse)
		st.TxWaits.Store(c.TxWaits)
		st.TxWaitTime.Store(c.TxWaitTimeMicros)
		st.NetWaits.Store(c.NetWaits)
	})
	s.plugins.SetInUseChecker(sourceInUse{src: src, vars: vars})
}

// millis converts rpl_semi_sync_source_timeout to a duration, saturating.
func millis(ms uint64) time.Duration {
	if ms > uint64(math.MaxInt64/int64(time.Millisecond)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}

// sourceInUse is MySQL's uninstall check with the source runtime's client count.
type sourceInUse struct {
	src  *semisync.Source
	vars *sysvars.State
}

var _ plugins.InUseChecker = sourceInUse{}

// InUse implements plugins.InUseChecker.
func (u sourceInUse) InUse(role sysvars.Role) bool {
	if role == sysvars.RoleSource {
		return u.src.Clients() > 0
	}
	return plugins.DefaultInUse{State: u.vars}.InUse(role)
}

// firstWord returns the first word of a normalized prefix.
func firstWord(p string) string {
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c == '_' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return p[:i]
		}
	}
	return p
}

// wholeStatement returns a normalized prefix up to its first ';', without trailing space.
func wholeStatement(p string) string {
	if i := strings.IndexByte(p, ';'); i >= 0 {
		p = p[:i]
	}
	return strings.TrimSpace(p)
}

// pluginFile is the installed-plugin table (MySQL's mysql.plugin) in the data directory: one
// "name<TAB>library" line per plugin.
type pluginFile struct{ path string }

var _ plugins.Store = pluginFile{}

const pluginFileHeader = "# semisyncd's mysql.plugin: plugins loaded at every start (name<TAB>library)\n"

// Load implements plugins.Store. A missing file is an empty table.
func (f pluginFile) Load() ([]plugins.Row, error) {
	buf, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rows []plugins.Row
	sc := bufio.NewScanner(bytes.NewReader(buf))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, lib, ok := strings.Cut(line, "\t")
		if !ok || name == "" || lib == "" {
			return nil, fmt.Errorf("%s:%d: want name<TAB>library, got %q", f.path, n, line)
		}
		rows = append(rows, plugins.Row{Name: name, Library: lib})
	}
	return rows, sc.Err()
}

// Save implements plugins.Store: the file is replaced atomically.
func (f pluginFile) Save(rows []plugins.Row) error {
	var b strings.Builder
	b.WriteString(pluginFileHeader)
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%s\n", r.Name, r.Library)
	}
	return vfs.WriteFileAtomic(nil, f.path, []byte(b.String()))
}
