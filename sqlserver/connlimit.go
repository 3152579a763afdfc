package sqlserver

import (
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
)

const erConCount = 1040 // ER_CON_COUNT_ERROR, SQLSTATE 08004: "Too many connections"

// connLimit enforces @@max_connections as MySQL does: once that many connections are
// authenticated, a new one is refused with 1040 "Too many connections", except one more for an
// account with CONNECTION_ADMIN or SUPER (MySQL's reserved administrative connection). It
// counts from ConnectionAuthenticated to ConnectionClosed; admit and release may run on any
// connection's goroutine (mu guards the count).
type connLimit struct {
	db *mysql_db.MySQLDb // nil: no accounts, nobody is an administrator

	mu       sync.Mutex
	admitted map[uint32]bool
}

// admit counts c in, or returns 1040.
func (l *connLimit) admit(c *mysql.Conn) error {
	max := globalInt("max_connections", 151)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.admitted == nil {
		l.admitted = make(map[uint32]bool)
	}
	if n := int64(len(l.admitted)); n >= max && (n > max || !l.isAdmin(c)) {
		return mysql.NewSQLError(erConCount, "08004", "Too many connections")
	}
	l.admitted[c.ConnectionID] = true
	return nil
}

// release counts a closed connection out (a no-op for one never admitted).
func (l *connLimit) release(id uint32) {
	l.mu.Lock()
	delete(l.admitted, id)
	l.mu.Unlock()
}

// isAdmin reports whether c's account holds CONNECTION_ADMIN or SUPER.
func (l *connLimit) isAdmin(c *mysql.Conn) bool {
	u, ok := c.UserData.(sql.MysqlConnectionUser)
	if !ok || l.db == nil {
		return false
	}
	rd := l.db.Reader()
	defer rd.Close()
	user := l.db.GetUser(rd, u.User, u.Host, false)
	return user != nil && (user.PrivilegeSet.Has(sql.PrivilegeType_Super) || user.PrivilegeSet.HasDynamic("CONNECTION_ADMIN"))
}

// globalInt reads an integer global system variable, def when it cannot.
func globalInt(name string, def int64) int64 {
	_, v, ok := sql.SystemVariables.GetGlobal(name)
	if !ok {
		return def
	}
	if n, ok := toInt64(v); ok {
		return n
	}
	return def
}

// toInt64 converts a system variable's integer value.
func toInt64(v interface{}) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(n), true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int8:
		return int64(n), true
	}
	return 0, false
}
