package plugins

import (
	"github.com/dolthub/vitess/go/mysql"
)

// MySQL error numbers of the plugin statements (include/mysqld_error.h) and their texts
// (share/messages_to_clients.txt, MySQL 8.0).
const (
	erCantInitializeUDF           = 1123 // ER_CANT_INITIALIZE_UDF
	erUDFNoPaths                  = 1124 // ER_UDF_NO_PATHS
	erUDFExists                   = 1125 // ER_UDF_EXISTS
	erCantOpenLibrary             = 1126 // ER_CANT_OPEN_LIBRARY
	erCantFindDLEntry             = 1127 // ER_CANT_FIND_DL_ENTRY
	erTableAccessDenied           = 1142 // ER_TABLEACCESS_DENIED_ERROR
	erNotSupportedYet             = 1235 // ER_NOT_SUPPORTED_YET
	erWarnDeprecatedSyntax        = 1287 // ER_WARN_DEPRECATED_SYNTAX
	erSPDoesNotExist              = 1305 // ER_SP_DOES_NOT_EXIST
	erPluginCannotBeUninstalled   = 1883 // ER_PLUGIN_CANNOT_BE_UNINSTALLED
	erInstallPluginConflictClient = 4045 // ER_INSTALL_PLUGIN_CONFLICT_CLIENT

	stateGeneral         = "HY000"
	stateSyntaxOrAccess  = "42000"
	noSuchFileErrno      = 2 // ENOENT
	noSuchFileDLErrorMsg = "cannot open shared object file: No such file or directory"
)

// cut returns s cut to n characters, as printf's %-.ns does.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// errExists is 1125; name is as the client wrote it.
func errExists(name string) error {
	return mysql.NewSQLError(erUDFExists, stateGeneral, "Function '%s' already exists", cut(name, 192))
}

// errNoPaths is 1124: SONAME names a path, or a name longer than 64 characters.
func errNoPaths() error {
	return mysql.NewSQLError(erUDFNoPaths, stateGeneral, "No paths allowed for shared library")
}

// errCantOpenLibrary is 1126 for a library that is not there. MySQL prints errno and dlerror's
// text with the path it repeats trimmed; its format has no comma after the errno (MariaDB's has).
func errCantOpenLibrary(path string) error {
	return mysql.NewSQLError(erCantOpenLibrary, stateGeneral, "Can't open shared library '%s' (errno: %d %s)",
		cut(path, 192), noSuchFileErrno, noSuchFileDLErrorMsg)
}

// errCantFindSymbol is 1127: the library has no plugin called name.
func errCantFindSymbol(name string) error {
	return mysql.NewSQLError(erCantFindDLEntry, stateGeneral, "Can't find symbol '%s' in library", cut(name, 128))
}

// errConflict is 4045: plugin cannot be installed while other (the other naming of the same
// role) is.
func errConflict(plugin, other string) error {
	return mysql.NewSQLError(erInstallPluginConflictClient, stateGeneral,
		"Cannot install the %s plugin when the %s plugin is installed.", cut(plugin, 192), cut(other, 192))
}

// errDoesNotExist is 1305 for UNINSTALL PLUGIN name; name is as the client wrote it.
func errDoesNotExist(name string) error {
	return mysql.NewSQLError(erSPDoesNotExist, stateSyntaxOrAccess, "PLUGIN %s does not exist", name)
}

// inUseReasons are MySQL 8.0's reasons for refusing to uninstall a busy plugin, by role
// (semi_sync_source_plugin_check_uninstall, semi_sync_replica_plugin_check_uninstall; both
// builds of each plugin use the same text).
var inUseReasons = [...]string{
	"Stop any active semisynchronous replicas of this source first.",
	"Stop any active semisynchronous I/O threads on this replica first.",
}

// errInUse is 1883 for plugin p.
func errInUse(p Plugin) error {
	return mysql.NewSQLError(erPluginCannotBeUninstalled, stateGeneral, "Plugin '%s' cannot be uninstalled now. %s",
		p.Name, inUseReasons[p.Family.Role()])
}

// errTableAccessDenied is 1142: account lacks command (INSERT, DELETE) on mysql.plugin.
func errTableAccessDenied(command, account string) error {
	return mysql.NewSQLError(erTableAccessDenied, stateSyntaxOrAccess, "%s command denied to user %s for table 'plugin'", command, account)
}
