package sqlserver

import (
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/sirupsen/logrus"
)

// registerShutdown answers SHUTDOWN as MySQL 8.0 does: it needs the SHUTDOWN privilege (1227
// without), returns OK, and the server then stops as on SIGTERM (the process that owns the
// Server waits on ShutdownRequested).
func (s *Server) registerShutdown() {
	s.parser.RegisterStatement(
		func(p string) bool { return strings.TrimRight(p, "; ") == "SHUTDOWN" },
		func(*sql.Context, string) (ast.Statement, error) {
			return Statement("SHUTDOWN", nil, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				db := s.engine.Analyzer.Catalog.MySQLDb
				if db != nil && db.Enabled() && ctx.Session.Client().User != "" &&
					!db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_Shutdown)) {
					return nil, mysql.NewSQLError(erSpecificAccessDenied, stateSyntaxOrAccess, specificAccessDeniedFormat, "SHUTDOWN")
				}
				s.log.WithFields(logrus.Fields{"user": ctx.Session.Client().User}).Info("Received SHUTDOWN from user " + ctx.Session.Client().User + ". Shutting down")
				s.requestShutdown(ctx.Session.ID())
				return nil, nil
			}), nil
		})
}

// ShutdownRequested is closed once a client ran SHUTDOWN: the owner of the Server should Close
// it, as on SIGTERM.
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdownCh }

// shutdownReplyWait bounds how long SHUTDOWN waits for its OK to reach the client before the
// server stops anyway.
const shutdownReplyWait = 2 * time.Second

// requestShutdown closes ShutdownRequested once connection id's reply to SHUTDOWN has been
// written (the connection waits for its next command), or after shutdownReplyWait: the owner
// closes every connection then, and the client must have its OK first, as from MySQL.
func (s *Server) requestShutdown(id uint32) {
	stop := func() { s.shutdownOnce.Do(func() { close(s.shutdownCh) }) }
	time.AfterFunc(shutdownReplyWait, stop)
	s.handler.mu.Lock()
	c := s.handler.conns[id]
	s.handler.mu.Unlock()
	if c != nil {
		if sc := shimOf(c); sc != nil {
			sc.afterReply.Store(&stop)
			return
		}
	}
	stop()
}
