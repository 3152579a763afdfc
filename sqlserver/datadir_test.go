package sqlserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if got, err := resolveServerUUID("", ""); err != nil || got != "" {
		t.Fatalf("no data dir: %q, %v; want GMS's own", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, uuidFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveServerUUID(dir, ""); err == nil {
		t.Fatalf("a corrupt server-uuid file was accepted")
	}
}
