package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/semisyncd/semisyncd/sysvars"
)

// TestPrepareDataDir: a given directory is created; none given stays "" (sqlserver.New makes
// the temporary one, sqlserver.TestTemporaryDataDir).
func TestPrepareDataDir(t *testing.T) {
	if dir, err := prepareDataDir(""); err != nil || dir != "" {
		t.Fatalf(`prepareDataDir("") = %q, %v; want ""`, dir, err)
	}
	given := filepath.Join(t.TempDir(), "a", "b")
	dir, err := prepareDataDir(given)
	if err != nil || dir != given {
		t.Fatalf("prepareDataDir(%q) = %q, %v", given, dir, err)
	}
	if st, err := os.Stat(given); err != nil || !st.IsDir() {
		t.Fatalf("the given data dir was not created: %v", err)
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

// TestSemisyncFlags: every semi-sync variable has mysqld's option; booleans take no value,
// =ON/OFF, or --skip-; values also come from SEMISYNCD_ variables; only given ones are passed on.
func TestSemisyncFlags(t *testing.T) {
	t.Setenv("SEMISYNCD_RPL_SEMI_SYNC_MASTER_TIMEOUT", "777")
	var got map[string]string
	app := &cli.App{Commands: []*cli.Command{{
		Name:  "serve",
		Flags: serveFlags(),
		Action: func(c *cli.Context) error {
			got = semisyncOptions(c)
			return nil
		},
	}}}
	err := app.Run([]string{"semisyncd", "serve",
		"--rpl-semi-sync-source-enabled",
		"--rpl-semi-sync-source-wait-no-replica=ON", "--skip-rpl-semi-sync-source-wait-no-replica",
		"--rpl-semi-sync-replica-enabled=OFF",
		"--rpl-semi-sync-source-wait-point=AFTER_COMMIT",
		"--rpl-semi-sync-source-timeout", "5000",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"rpl_semi_sync_source_enabled":         "true",
		"rpl_semi_sync_source_wait_no_replica": "OFF",
		"rpl_semi_sync_replica_enabled":        "OFF",
		"rpl_semi_sync_source_wait_point":      "AFTER_COMMIT",
		"rpl_semi_sync_source_timeout":         "5000",
		"rpl_semi_sync_master_timeout":         "777",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("options %v\nwant %v", got, want)
	}
	if n := len(sysvars.Options()); n != 16 {
		t.Fatalf("%d options", n)
	}
}
