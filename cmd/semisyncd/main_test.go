package main

import (
	"os"
	"path/filepath"
	"testing"
)

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
