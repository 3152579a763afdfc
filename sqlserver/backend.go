package sqlserver

import "github.com/dolthub/go-mysql-server/sql"

// Backend is the storage engine the server runs on.
//
// The server asks the backend for its database provider once, when it builds the engine, and
// for a session every time a client connection authenticates. A backend's tables may assume
// that every *sql.Context they see carries a session returned by its own NewSession: the
// upstream memory engine, for one, panics on any other session type.
type Backend interface {
	// Provider returns the databases the server serves. It is called once, by New.
	Provider() sql.MutableDatabaseProvider
	// NewSession returns the session type the backend's tables require, built on base. It is
	// called once per authenticated connection and must not block.
	NewSession(base *sql.BaseSession) sql.Session
}
