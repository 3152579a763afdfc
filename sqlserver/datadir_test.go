package sqlserver

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semisyncd/semisyncd/storage"
)

func TestResolveServerUUID(t *testing.T) {
	dir := t.TempDir()
	first, err := resolveServerUUID(dir, "")
	if err != nil || first == "" {
		t.Fatalf("generated %q, %v", first, err)
	}
	stored, err := os.ReadFile(filepath.Join(dir, uuidFile))
	if err != nil || strings.TrimSpace(string(stored)) != first {
		t.Fatalf("stored %q, %v; want %q", stored, err, first)
	}
	if again, err := resolveServerUUID(dir, ""); err != nil || again != first {
		t.Fatalf("second start: %q, %v; want %q", again, err, first)
	}
	const given = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
	if got, err := resolveServerUUID(dir, given); err != nil || got != strings.ToLower(given) {
		t.Fatalf("configured: %q, %v", got, err)
	}
	if _, err := resolveServerUUID(dir, "not-a-uuid"); err == nil {
		t.Fatalf("an invalid configured UUID was accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, uuidFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveServerUUID(dir, ""); err == nil {
		t.Fatalf("a corrupt server-uuid file was accepted")
	}
}

// TestTemporaryDataDir: without Config.DataDir, New makes a temporary data directory (a binlog
// and its checkpoints like any other, @@datadir naming it), Close removes it, and a New that
// fails removes it too.
func TestTemporaryDataDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, err := New(Config{}, storage.New(storage.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	dir := s.cfg.DataDir
	if filepath.Dir(dir) != tmp {
		t.Fatalf("data dir %q is not a temporary directory under %q", dir, tmp)
	}
	db := open(t, dsn(s, "root", ""))
	var datadir string
	if err := db.QueryRow("SELECT @@datadir").Scan(&datadir); err != nil || datadir != dir+"/" {
		t.Fatalf("@@datadir = %q, %v; want %q", datadir, err, dir+"/")
	}
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.t (a INT PRIMARY KEY)", "INSERT INTO d.t VALUES (1)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var file string
	var pos uint64
	var rest [3]any
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &rest[0], &rest[1], &rest[2]); err != nil || pos <= 4 {
		t.Fatalf("SHOW MASTER STATUS = %q %d, %v; want a binlog with the commits", file, pos, err)
	}
	if st, err := os.Stat(filepath.Join(dir, file)); err != nil || st.Size() < int64(pos) {
		t.Fatalf("binlog %s in the data dir: %v", file, err)
	}
	db.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the temporary data dir survives Close: %v", err)
	}

	// A New that fails (the port is in use) leaves nothing behind.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := New(Config{Port: l.Addr().(*net.TCPAddr).Port}, storage.New(storage.Options{}), nil); err == nil {
		t.Fatal("New on a port in use succeeded")
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Fatalf("a failed New left %v behind (%v)", left, err)
	}
}
