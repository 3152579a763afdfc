package sqlserver

// Files the server keeps in its data directory (Config.DataDir):
//
//	privileges.db   accounts and grants (GMS's mysql_db serialization), rewritten on change
//	server-uuid     @@server_uuid, generated at the first start without Config.ServerUUID
//	plugins         installed plugins, loaded at every start (MySQL's mysql.plugin; pluginFile)

import (
	"errors"
	"fmt"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

const (
	privilegesFile = "privileges.db"
	uuidFile       = "server-uuid"
	pluginsFile    = "plugins"
)

// resolveServerUUID returns the UUID the server runs with: the configured one when given (it
// must parse), otherwise the one kept in dataDir, generated and stored the first time.
func resolveServerUUID(dataDir, configured string) (string, error) {
	if configured != "" {
		u, err := uuid.Parse(configured)
		if err != nil {
			return "", fmt.Errorf("sqlserver: server UUID %q: %w", configured, err)
		}
		return u.String(), nil
	}
	path := filepath.Join(dataDir, uuidFile)
	buf, err := os.ReadFile(path)
	switch {
	case err == nil:
		u, err := uuid.Parse(strings.TrimSpace(string(buf)))
		if err != nil {
			return "", fmt.Errorf("sqlserver: %s: %w", path, err)
		}
		return u.String(), nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("sqlserver: %w", err)
	}
	u := uuid.NewString()
	if err := vfs.WriteFileAtomic(nil, path, []byte(u+"\n")); err != nil {
		return "", fmt.Errorf("sqlserver: store the server UUID: %w", err)
	}
	return u, nil
}
