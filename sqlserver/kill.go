package sqlserver

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// MySQL's errors for KILL.
const (
	erNoSuchThread = 1094 // ER_NO_SUCH_THREAD
	erKillDenied   = 1095 // ER_KILL_DENIED_ERROR
)

var reKill = regexp.MustCompile(`(?is)^\s*KILL\s+(?:(CONNECTION|QUERY)\s+)?(\d+)\s*;?\s*$`)

// registerKill answers KILL [CONNECTION | QUERY] id as MySQL 8.0 does: any
// account may kill its own threads; another account's needs SUPER or
// CONNECTION_ADMIN (1095 "You are not owner of thread N"); an id that is not
// a connection is 1094 "Unknown thread id: N". (GMS asks SUPER for every
// KILL and kills ids that do not exist without a word.) The killed
// statement's client gets 1317.
func (s *Server) registerKill() {
	s.parser.RegisterStatement(
		func(p string) bool { return strings.HasPrefix(p, "KILL ") && reKill.MatchString(p) },
		func(_ *sql.Context, q string) (ast.Statement, error) {
			m := reKill.FindStringSubmatch(q)
			if m == nil {
				return nil, errSyntax(q)
			}
			query := strings.EqualFold(m[1], "QUERY")
			id, err := strconv.ParseUint(m[2], 10, 32)
			if err != nil {
				return nil, mysql.NewSQLError(erNoSuchThread, stateGeneral, "Unknown thread id: %s", m[2])
			}
			return Statement("KILL", nil, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				return nil, s.kill(ctx, uint32(id), query)
			}), nil
		})
}

func (s *Server) kill(ctx *sql.Context, id uint32, query bool) error {
	var owner *sql.Process
	for _, p := range s.engine.ProcessList.Processes() {
		if p.Connection == id {
			p := p
			owner = &p
			break
		}
	}
	if owner == nil {
		return mysql.NewSQLError(erNoSuchThread, stateGeneral, "Unknown thread id: %d", id)
	}
	if owner.User != ctx.Session.Client().User && !hasConnectionAdmin(ctx, s.engine.Analyzer.Catalog.MySQLDb) {
		return mysql.NewSQLError(erKillDenied, stateGeneral, "You are not owner of thread %d", id)
	}
	s.engine.ProcessList.Kill(id)
	if !query {
		ctx.KillConnection(id)
	}
	return nil
}
