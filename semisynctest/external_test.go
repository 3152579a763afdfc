package semisynctest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestExternalModule takes the kit as users do: a module of its own (a temporary directory with
// its own go.mod, requiring this module through a replace directive) whose test is the example
// above, run with `go test`. It skips when the go command cannot resolve the module graph
// offline or through the module proxy (no network), and in -short mode.
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs a separate module")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))
	ours, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(ours)
	example, err := os.ReadFile(filepath.Join(repo, "semisynctest", "example_test.go"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/shop\n\n"+string(goLine)+"\n\n"+
		"require github.com/semisyncd/semisyncd v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/semisyncd/semisyncd => "+repo+"\n")
	// The checksums this repository already verified: resolving needs no download for them.
	if sum, err := os.ReadFile(filepath.Join(repo, "go.sum")); err == nil {
		write("go.sum", string(sum))
	}
	write("shop.go", "// Package shop stands for an application.\npackage shop\n")
	write("shop_test.go", strings.Replace(string(example), "package semisynctest_test", "package shop_test", 1))

	run := func(timeout time.Duration, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(5*time.Minute, "mod", "tidy"); err != nil {
		if offline(out) {
			t.Skipf("go mod tidy cannot resolve modules (offline?):\n%s", out)
		}
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	out, err := run(10*time.Minute, "test", "-count=1", "-v", "-run", "TestApplicationWithReplicas", "./...")
	if err != nil {
		if offline(out) {
			t.Skipf("go test cannot resolve modules (offline?):\n%s", out)
		}
		t.Fatalf("go test in the external module: %v\n%s", err, out)
	}
	if !strings.Contains(out, "--- PASS: TestApplicationWithReplicas") || !strings.Contains(out, "ok  \texample.com/shop") {
		t.Fatalf("the example did not pass in the external module:\n%s", out)
	}
	t.Logf("external module:\n%s", out)
}

// offline reports whether go command output says a module could not be fetched.
func offline(out string) bool {
	for _, s := range []string{"dial tcp", "lookup ", "i/o timeout", "connection refused", "no such host", "GOPROXY=off", "network is unreachable", "TLS handshake timeout"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}
