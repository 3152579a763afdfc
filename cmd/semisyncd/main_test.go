package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerUUID(t *testing.T) {
	dir := t.TempDir()
	first, err := serverUUID(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(dir, uuidFile))
	if err != nil || strings.TrimSpace(string(stored)) != first {
		t.Fatalf("stored %q, %v; want %q", stored, err, first)
	}
	if again, err := serverUUID(dir, ""); err != nil || again != first {
		t.Fatalf("second start: %q, %v; want %q", again, err, first)
	}
	const given = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
	if got, err := serverUUID(dir, given); err != nil || got != strings.ToLower(given) {
		t.Fatalf("configured: %q, %v", got, err)
	}
	if _, err := serverUUID(dir, "not-a-uuid"); err == nil {
		t.Fatalf("an invalid --server-uuid was accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, uuidFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := serverUUID(dir, ""); err == nil {
		t.Fatalf("a corrupt server-uuid file was accepted")
	}
}

func TestPrepareDataDir(t *testing.T) {
	tmp, cleanup, err := prepareDataDir("")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(tmp); err != nil || !st.IsDir() {
		t.Fatalf("temporary data dir %q: %v", tmp, err)
	}
	cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary data dir survives cleanup: %v", err)
	}

	given := filepath.Join(t.TempDir(), "a", "b")
	dir, cleanup, err := prepareDataDir(given)
	if err != nil || dir != given {
		t.Fatalf("prepareDataDir(%q) = %q, %v", given, dir, err)
	}
	cleanup()
	if _, err := os.Stat(given); err != nil {
		t.Fatalf("a given data dir was removed: %v", err)
	}
}

func TestSetupLoggingRejectsUnknownValues(t *testing.T) {
	if _, err := setupLogging("loud", "text"); err == nil {
		t.Errorf("--log-level loud accepted")
	}
	if _, err := setupLogging("info", "xml"); err == nil {
		t.Errorf("--log-format xml accepted")
	}
	if _, err := setupLogging("debug", "json"); err != nil {
		t.Errorf("--log-level debug --log-format json: %v", err)
	}
}
