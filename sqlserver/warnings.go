package sqlserver

// Warnings as MySQL keeps them: every statement except a diagnostic one (SHOW WARNINGS, SHOW
// ERRORS, SHOW COUNT(*) …, GET DIAGNOSTICS) starts with an empty list, so SHOW WARNINGS shows
// the previous statement's warnings only. GMS clears the list only after it has planned a
// statement other than SET, so without this, warnings of a SET (1292 for a clamped value) or
// of a statement before a failed one stay and reappear after later statements.

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// trackSession records the session of a connection, for clearWarnings.
func (h *handler) trackSession(connID uint32, s sql.Session) {
	h.sessions.Store(connID, s)
}

// clearWarnings empties the warnings of c's session unless query is a diagnostic statement.
func (h *handler) clearWarnings(c *mysql.Conn, query string) {
	if isDiagnostic(query) {
		return
	}
	if s, ok := h.sessions.Load(c.ConnectionID); ok {
		s.(sql.Session).ClearWarnings()
	}
}

// isDiagnostic reports whether query is one of the statements that read the warnings list
// without clearing it.
func isDiagnostic(query string) bool {
	// Every statement goes through here: only SHOW … and GET … go on to the normalized prefix.
	i := 0
	for i < len(query) {
		if n := commentLen(query[i:]); n > 0 {
			i += n
			continue
		}
		if c := query[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' {
			break
		}
		i++
	}
	if rest := query[i:]; !hasPrefixFold(rest, "show") && !hasPrefixFold(rest, "get") {
		return false
	}
	p := NormalizedPrefix(query[i:])
	for _, d := range []string{"SHOW WARNINGS", "SHOW ERRORS", "SHOW COUNT", "GET DIAGNOSTICS", "GET CURRENT DIAGNOSTICS", "GET STACKED DIAGNOSTICS"} {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w, in any case.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if s[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}
