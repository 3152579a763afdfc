// Package fuzzrun finds the module's fuzz targets, writes seed-corpus files in Go's corpus
// format, and runs every target for a bounded number of inputs from an ordinary test, so that
// `go test ./...` fuzzes each parser a little on every run.
//
// A bounded run builds each package's test binary once, with coverage instrumentation for this
// module's packages only (the compiler's -d=libfuzzer, which `go test -fuzz` applies to every
// package including GMS, vitess and the standard library: that build alone takes minutes on a
// loaded 2-core machine, while ours reuses the ordinary build of everything outside the module),
// then runs the binary once per target with -test.fuzz and a count-bounded -test.fuzztime. The
// fuzzer finds what our own code does with hostile bytes; what vitess does with them is watched by
// the targets themselves (they fail when vitess recovers a panic).
package fuzzrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Module is this module's path.
const Module = "github.com/semisyncd/semisyncd"

// Target is one fuzz target: the package directory (relative to the module root, slash-separated)
// and the function name.
type Target struct {
	Dir  string
	Name string
}

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)

// Targets lists every fuzz target in the module rooted at root, by package directory and name.
func Targets(root string) ([]Target, error) {
	var out []Target
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
			out = append(out, Target{Dir: filepath.ToSlash(rel), Name: string(m[1])})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dir != out[j].Dir {
			return out[i].Dir < out[j].Dir
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}

// ModuleRoot is the directory of this module's go.mod.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// GoTool is the go command of the toolchain running the test (GOROOT/bin/go), else the one on
// PATH.
func GoTool() (string, error) {
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("go")
}

// Build compiles the test binary of the package in dir (relative to root) into out, with this
// module's packages instrumented for coverage-guided fuzzing.
func Build(ctx context.Context, root, dir, out string) ([]byte, error) {
	goTool, err := GoTool()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, goTool, "test", "-c", "-o", out,
		"-gcflags="+Module+"/...=-d=libfuzzer", "./"+dir)
	cmd.Dir = root
	return cmd.CombinedOutput()
}

// Result is the outcome of one bounded fuzzing run.
type Result struct {
	Output  []byte // the fuzzer's output
	Crasher string // path of the failing input the fuzzer wrote, "" when none
	Input   []byte // its contents
}

// crasherLine is how the fuzzer names the input it wrote after a failure.
var crasherLine = regexp.MustCompile(`Failing input written to (\S+)`)

// Fuzz runs target with the test binary bin (built by Build) for at most execs inputs, or for
// fuzztime when it is not empty (e.g. "30s"), in the target's package directory under root, with
// one worker. It stops at ctx's deadline. err is non-nil when the run failed: a crasher
// (Result.Crasher names the input the fuzzer wrote under the package's testdata/fuzz, where
// plain `go test` then replays it) or a run that did not complete.
func Fuzz(ctx context.Context, root, bin string, target Target, execs int, fuzztime, cacheDir string) (Result, error) {
	if fuzztime == "" {
		fuzztime = strconv.Itoa(execs) + "x"
	}
	cmd := exec.CommandContext(ctx, bin,
		"-test.run=^$", "-test.fuzz=^"+target.Name+"$", "-test.fuzztime="+fuzztime,
		"-test.parallel=1", "-test.fuzzminimizetime=200x", "-test.fuzzcachedir="+cacheDir,
		"-test.timeout=0")
	cmd.Dir = filepath.Join(root, filepath.FromSlash(target.Dir))
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	res := Result{Output: out}
	if m := crasherLine.FindSubmatch(out); m != nil {
		res.Crasher = filepath.Join(cmd.Dir, string(m[1]))
		res.Input, _ = os.ReadFile(res.Crasher)
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return res, err
}

// WriteSeed writes values as the corpus file dir/name in Go's fuzzing format ("go test fuzz
// v1"), the format `go test` reads from testdata/fuzz/<FuzzName>/. Values are []byte, string,
// bool or integers, in the target's argument order.
func WriteSeed(dir, name string, values ...any) error {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch x := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", x)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", x)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", x)
		case int, int8, int16, int32, int64, uint, uint16, uint32, uint64:
			fmt.Fprintf(&b, "%T(%d)\n", x, x)
		case uint8:
			fmt.Fprintf(&b, "byte(%d)\n", x)
		default:
			return fmt.Errorf("fuzzrun: seed value of type %T", v)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
}

// WriteSeedsEnv is the environment variable that makes the packages' corpus tests
// (TestWriteFuzzCorpus) rewrite their checked-in seeds: SEMISYNCD_WRITE_FUZZ_CORPUS=1.
const WriteSeedsEnv = "SEMISYNCD_WRITE_FUZZ_CORPUS"

// Seeds returns add, which writes one seed file testdata/fuzz/<target>/seed-<name> under the
// current directory (a test's: its package directory). The first add for a target removes the
// target's old seed-* files; other files (inputs the fuzzer found) stay.
func Seeds(t testing.TB) (add func(target, name string, values ...any)) {
	cleaned := map[string]bool{}
	return func(target, name string, values ...any) {
		t.Helper()
		dir := filepath.Join("testdata", "fuzz", target)
		if !cleaned[target] {
			old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
			for _, f := range old {
				_ = os.Remove(f)
			}
			cleaned[target] = true
		}
		if err := WriteSeed(dir, "seed-"+name, values...); err != nil {
			t.Fatal(err)
		}
	}
}

// Flip returns a copy of b with byte i inverted: a garbled seed.
func Flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}
