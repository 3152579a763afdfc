// Package plugins is MySQL 8.0's plugin lifecycle for the four semi-sync plugins semisyncd
// has built in: INSTALL PLUGIN and UNINSTALL PLUGIN with MySQL's errors, the installed-plugin
// table kept across restarts (MySQL's mysql.plugin), --plugin-load and --plugin-load-add for one
// run, SHOW PLUGINS and information_schema.PLUGINS.
//
// No shared library is ever opened: the libraries semisync_source.so, semisync_replica.so,
// semisync_master.so and semisync_slave.so are names the registry recognises, and any other
// name fails as a missing file does in MySQL (1126). Installing a plugin makes its variables
// and status variables exist (sysvars.State.Install); the semi-sync runtime that acts on them
// hooks in through sysvars (configuration, counters, events) and InUseChecker (1883).
package plugins

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"

	"github.com/semisyncd/semisyncd/sysvars"
)

// Plugin is one plugin semisyncd provides.
type Plugin struct {
	Name        string         // e.g. "rpl_semi_sync_source"
	Library     string         // e.g. "semisync_source.so"
	Family      sysvars.Family // the variables and status variables it brings
	Description string         // PLUGIN_DESCRIPTION
}

// Attributes every semi-sync plugin shares in MySQL 8.0 (mysql_declare_plugin in
// plugin/semisync/semisync_*_plugin.cc).
const (
	PluginType        = "REPLICATION"
	PluginVersion     = "1.0"
	PluginTypeVersion = "4.0"  // MYSQL_REPLICATION_INTERFACE_VERSION 0x0400
	LibraryVersion    = "1.11" // MYSQL_PLUGIN_INTERFACE_VERSION 0x010B
	PluginAuthor      = "Oracle Corporation"
	PluginLicense     = "GPL"
	PluginStatus      = "ACTIVE"
	LoadOption        = "ON"
)

// known lists the plugins in the order MySQL's documentation introduces them.
var known = []Plugin{
	{Name: "rpl_semi_sync_source", Library: "semisync_source.so", Family: sysvars.FamilySource, Description: "Source-side semi-synchronous replication."},
	{Name: "rpl_semi_sync_replica", Library: "semisync_replica.so", Family: sysvars.FamilyReplica, Description: "Replica-side semi-synchronous replication."},
	{Name: "rpl_semi_sync_master", Library: "semisync_master.so", Family: sysvars.FamilyMaster, Description: "Source-side semi-synchronous replication."},
	{Name: "rpl_semi_sync_slave", Library: "semisync_slave.so", Family: sysvars.FamilySlave, Description: "Replica-side semi-synchronous replication."},
}

// Known returns the plugins semisyncd provides.
func Known() []Plugin { return append([]Plugin(nil), known...) }

// Row is one row of the installed-plugin table (MySQL's mysql.plugin): a plugin to load at
// every start.
type Row struct {
	Name    string
	Library string
}

// Store keeps the installed-plugin table across restarts. Save replaces the whole table and
// must be atomic: after a crash Load returns the old table or the new one.
type Store interface {
	Load() ([]Row, error)
	Save([]Row) error
}

// InUseChecker decides whether a plugin may be uninstalled now, as MySQL 8.0's check_uninstall
// callbacks do. The semi-sync runtime may provide its own; DefaultInUse is MySQL's rule.
type InUseChecker interface {
	// InUse reports whether the plugin serving role is in use. UNINSTALL PLUGIN of it then
	// fails with 1883. It is called with the Registry's lock held: it must not block and must
	// not call the Registry.
	InUse(role sysvars.Role) bool
}

// DefaultInUse is MySQL's rule, read from the status counters: the source plugin is in use
// while semi-sync replicas are connected (Rpl_semi_sync_source_clients > 0, even with the
// source disabled), the replica plugin while its I/O thread runs semi-sync
// (Rpl_semi_sync_replica_status ON).
type DefaultInUse struct{ State *sysvars.State }

var _ InUseChecker = DefaultInUse{}

// InUse implements InUseChecker.
func (d DefaultInUse) InUse(role sysvars.Role) bool {
	if role == sysvars.RoleReplica {
		return d.State.Replica.Status.Status.Load()
	}
	return d.State.Source.Status.Clients.Load() > 0
}

// Options configure a Registry.
type Options struct {
	// PluginDir is @@plugin_dir, where MySQL would look for libraries; errors name paths in it.
	PluginDir string
	// Store keeps the installed-plugin table; nil keeps nothing across restarts.
	Store Store
	// Privileges is the server's account database: INSTALL PLUGIN needs INSERT and UNINSTALL
	// PLUGIN DELETE on mysql.plugin, as in MySQL. Nil allows everyone.
	Privileges *mysql_db.MySQLDb
	// Log receives lifecycle messages; nil uses logrus's standard logger.
	Log *logrus.Entry
}

// Registry is the set of loaded plugins of one server. Its methods are safe for concurrent use;
// INSTALL and UNINSTALL are serialised.
type Registry struct {
	state     *sysvars.State
	store     Store
	privs     *mysql_db.MySQLDb
	pluginDir string
	log       *logrus.Entry

	mu     sync.Mutex
	loaded []Plugin // in load order, as SHOW PLUGINS lists them
	rows   []Row    // the installed-plugin table, as the Store holds it
	inUse  InUseChecker
}

// New returns a Registry with no plugin loaded. Call Start to load the start-up plugins.
func New(state *sysvars.State, opts Options) *Registry {
	log := opts.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	return &Registry{
		state:     state,
		store:     opts.Store,
		privs:     opts.Privileges,
		pluginDir: opts.PluginDir,
		log:       log.WithField("component", "plugins"),
		inUse:     DefaultInUse{State: state},
	}
}

// SetInUseChecker replaces the check UNINSTALL PLUGIN consults (DefaultInUse until then).
func (r *Registry) SetInUseChecker(c InUseChecker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inUse = c
}

// Start loads the plugins a server loads at start, as mysqld does: first those named by
// --plugin-load (pluginLoad) and --plugin-load-add (pluginLoadAdd, in order), for this run
// only; then those in the installed-plugin table. A plugin that cannot be loaded is logged at
// error level and skipped; the error returned is only for a table that cannot be read.
//
// Each list is mysqld's: entries separated by ';' (or ':'), each "name=library" or a bare
// "library", which loads every plugin of that library.
func (r *Registry) Start(pluginLoad string, pluginLoadAdd []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, list := range append([]string{pluginLoad}, pluginLoadAdd...) {
		for _, entry := range splitLoadList(list) {
			name, lib, hasName := strings.Cut(entry, "=")
			if !hasName {
				name, lib = "", entry
			}
			r.loadAtStart(name, lib, "plugin-load")
		}
	}
	if r.store == nil {
		return nil
	}
	rows, err := r.store.Load()
	if err != nil {
		return fmt.Errorf("plugins: read the installed-plugin table: %w", err)
	}
	r.rows = rows
	for _, row := range rows {
		r.loadAtStart(row.Name, row.Library, "table")
	}
	return nil
}

// splitLoadList splits a --plugin-load value into its entries.
func splitLoadList(list string) []string {
	var out []string
	for _, e := range strings.FieldsFunc(list, func(c rune) bool { return c == ';' || c == ':' }) {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// loadAtStart loads one start-up plugin (name "" meaning every plugin of lib), logging instead
// of failing.
func (r *Registry) loadAtStart(name, lib, origin string) {
	names := []string{name}
	if name == "" {
		ps, err := r.library(lib)
		if err != nil {
			r.logLoadError(name, lib, origin, err)
			return
		}
		names = names[:0]
		for _, p := range ps {
			names = append(names, p.Name)
		}
	}
	for _, name := range names {
		p, err := r.resolve(name, lib)
		if err == nil {
			err = r.activate(p)
		}
		if err != nil {
			r.logLoadError(name, lib, origin, err)
			continue
		}
		if p.Family.Deprecated() {
			r.log.WithFields(logrus.Fields{"plugin": p.Name, "replacement": replacement(p)}).Warn(deprecationMessage(p) + ".")
		}
		r.log.WithFields(logrus.Fields{"plugin": p.Name, "library": p.Library, "origin": origin}).Info("plugin loaded")
	}
}

func (r *Registry) logLoadError(name, lib, origin string, err error) {
	r.log.WithFields(logrus.Fields{"plugin": name, "library": lib, "origin": origin}).WithError(err).
		Error(fmt.Sprintf("Couldn't load plugin named '%s' with soname '%s'.", name, lib))
}

// Install is INSTALL PLUGIN name SONAME soname: it loads the plugin and records it in the
// installed-plugin table, so that it loads at every start. The errors are MySQL's, in MySQL's
// order: 1142 ctx's account lacks INSERT on mysql.plugin, 1125 a plugin of that name is
// loaded, 1124 soname is not a plain file name, 1126 no such library, 1127 the library has no
// plugin of that name, 4045 the other family of the same role is loaded. Installing a
// deprecated master/slave plugin adds note 1287 to ctx's session. ctx may be nil (no account).
func (r *Registry) Install(ctx *sql.Context, name, soname string) error {
	if err := mayWritePluginTable(ctx, r.privs, sql.PrivilegeType_Insert, "INSERT"); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.resolve(name, soname)
	if err != nil {
		return err
	}
	if err := r.activate(p); err != nil {
		return err
	}
	if err := r.save(append(r.withoutRow(p.Name), Row{Name: p.Name, Library: p.Library})); err != nil {
		r.deactivate(p)
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "cannot record plugin '%s': %v", p.Name, err)
	}
	fields := logrus.Fields{"plugin": p.Name, "library": p.Library}
	if p.Family.Deprecated() {
		msg := deprecationMessage(p)
		if ctx != nil && ctx.Session != nil {
			ctx.Session.Warn(&sql.Warning{Level: "Note", Code: erWarnDeprecatedSyntax, Message: msg})
		}
		r.log.WithFields(fields).Warn(msg + ".")
	}
	r.log.WithFields(fields).Info("plugin installed")
	return nil
}

// Uninstall is UNINSTALL PLUGIN name: it unloads the plugin and removes it from the
// installed-plugin table. Errors: 1142 ctx's account lacks DELETE on mysql.plugin, 1305 no
// plugin of that name is loaded, 1883 the plugin is in use (InUseChecker).
func (r *Registry) Uninstall(ctx *sql.Context, name string) error {
	if err := mayWritePluginTable(ctx, r.privs, sql.PrivilegeType_Delete, "DELETE"); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.loadedPlugin(name)
	if !ok {
		return errDoesNotExist(name)
	}
	if r.inUse.InUse(p.Family.Role()) {
		return errInUse(p)
	}
	if err := r.save(r.withoutRow(p.Name)); err != nil {
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "cannot record the removal of plugin '%s': %v", p.Name, err)
	}
	r.deactivate(p)
	r.log.WithFields(logrus.Fields{"plugin": p.Name, "library": p.Library}).Info("plugin uninstalled")
	return nil
}

// Loaded returns the loaded plugins in load order.
func (r *Registry) Loaded() []Plugin {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Plugin(nil), r.loaded...)
}

// library returns the plugins of library lib, or MySQL's error for it.
func (r *Registry) library(lib string) ([]Plugin, error) {
	if strings.ContainsRune(lib, '/') || len([]rune(lib)) > 64 {
		return nil, errNoPaths()
	}
	var out []Plugin
	for _, p := range known {
		if p.Library == lib {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errCantOpenLibrary(filepath.Join(r.pluginDir, lib))
	}
	return out, nil
}

// find returns the plugin called name (any case) in library lib, or MySQL's error.
func (r *Registry) find(name, lib string) (Plugin, error) {
	ps, err := r.library(lib)
	if err != nil {
		return Plugin{}, err
	}
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	return Plugin{}, errCantFindSymbol(name)
}

// resolve returns the plugin INSTALL PLUGIN name SONAME lib loads, or MySQL's error, checked in
// MySQL's order: 1125, then the library (1124, 1126), then the symbol (1127), then the
// plugin's own init (4045).
func (r *Registry) resolve(name, lib string) (Plugin, error) {
	if _, ok := r.loadedPlugin(name); ok {
		return Plugin{}, errExists(name)
	}
	p, err := r.find(name, lib)
	if err != nil {
		return Plugin{}, err
	}
	if other := p.Family.Other(); r.state.IsInstalled(other) {
		return Plugin{}, errConflict(p.Name, other.PluginName())
	}
	return p, nil
}

// loadedPlugin finds a loaded plugin by name, in any case.
func (r *Registry) loadedPlugin(name string) (Plugin, bool) {
	for _, p := range r.loaded {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Plugin{}, false
}

// activate makes p's variables exist and lists it as loaded.
func (r *Registry) activate(p Plugin) error {
	if err := r.state.Install(p.Family); err != nil {
		return mysql.NewSQLError(erCantInitializeUDF, mysql.SSUnknownSQLState,
			"Can't initialize function '%s'; Plugin initialization function failed.", p.Name)
	}
	r.loaded = append(r.loaded, p)
	return nil
}

// deactivate undoes activate.
func (r *Registry) deactivate(p Plugin) {
	r.state.Uninstall(p.Family)
	for i, q := range r.loaded {
		if q.Name == p.Name {
			r.loaded = append(r.loaded[:i:i], r.loaded[i+1:]...)
			break
		}
	}
}

// withoutRow returns the table without the row of the plugin called name.
func (r *Registry) withoutRow(name string) []Row {
	out := make([]Row, 0, len(r.rows))
	for _, row := range r.rows {
		if !strings.EqualFold(row.Name, name) {
			out = append(out, row)
		}
	}
	return out
}

// save stores rows as the installed-plugin table.
func (r *Registry) save(rows []Row) error {
	if r.store != nil {
		if err := r.store.Save(rows); err != nil {
			return err
		}
	}
	r.rows = rows
	return nil
}

// replacement names the plugin that replaces a deprecated one.
func replacement(p Plugin) string { return p.Family.Other().PluginName() }

// deprecationMessage is MySQL's ER_WARN_DEPRECATED_SYNTAX text for a deprecated plugin.
func deprecationMessage(p Plugin) string {
	return fmt.Sprintf("'%s' is deprecated and will be removed in a future release. Please use %s instead", p.Name, replacement(p))
}
