package sqlserver

import (
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
)

// MemoryBackend runs the server on go-mysql-server's upstream memory engine. It is the default
// until the storage package lands, and the baseline that benchmarks compare against. The memory
// engine keeps nothing on disk and loses committed rows under concurrent writers (see
// spec/gms-notes.md §5.2), so it is not fit for replication.
type MemoryBackend struct {
	pro *memory.DbProvider
}

var _ Backend = (*MemoryBackend)(nil)

// NewMemoryBackend returns a backend with no databases.
func NewMemoryBackend() *MemoryBackend {
	return &MemoryBackend{pro: memory.NewDBProvider()}
}

// Provider implements Backend.
func (b *MemoryBackend) Provider() sql.MutableDatabaseProvider { return b.pro }

// Name names the backend in the server's ready line ("backend=memory"); the integration tests
// use it to skip what only the storage engine can do.
func (b *MemoryBackend) Name() string { return "memory" }

// NewSession implements Backend. The memory engine's tables require exactly *memory.Session.
func (b *MemoryBackend) NewSession(base *sql.BaseSession) sql.Session {
	return memory.NewSession(base, b.pro)
}
