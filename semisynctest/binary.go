package semisynctest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BinaryEnv names the environment variable that points the kit at a semisyncd binary. When it is
// unset the kit builds one (see Binary).
const BinaryEnv = "SEMISYNCD_BIN"

// modulePath is the import path of the module the kit belongs to.
const modulePath = "github.com/semisyncd/semisyncd"

var (
	binaryOnce sync.Mutex
	binaryPath string
	binaryNote string
)

// Binary returns the semisyncd executable the kit runs, and a sentence saying where it came from.
//
// With SEMISYNCD_BIN set, that file. Otherwise the kit builds cmd/semisyncd from the source of
// its own module version (the directory this package was compiled from, or the one `go list -m`
// names) into the user cache directory (os.UserCacheDir()/semisyncd/<key>/semisyncd), keyed by a
// hash of that source and the go toolchain, so that it is built once per machine and per version.
// A file lock beside it makes parallel test processes (go test ./... runs packages in parallel)
// wait for one build instead of each building. The result is kept for the life of the process.
// Building needs the go command on PATH; the first build takes a while (GMS is large), later
// calls return at once.
func Binary() (path, note string, err error) {
	binaryOnce.Lock()
	defer binaryOnce.Unlock()
	if binaryPath != "" {
		return binaryPath, binaryNote, nil
	}
	if p := os.Getenv(BinaryEnv); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", "", fmt.Errorf("semisynctest: %s=%s: %w", BinaryEnv, p, err)
		}
		if st.IsDir() {
			return "", "", fmt.Errorf("semisynctest: %s=%s is a directory", BinaryEnv, p)
		}
		binaryPath, binaryNote = p, fmt.Sprintf("semisynctest: using semisyncd from %s=%s", BinaryEnv, p)
		return binaryPath, binaryNote, nil
	}
	p, note, err := buildCached()
	if err != nil {
		return "", "", err
	}
	binaryPath, binaryNote = p, note
	return p, note, nil
}

// moduleDir returns the directory of the kit's module source.
func moduleDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Dir(filepath.Dir(file))
		if isKitModule(dir) {
			return dir, nil
		}
	}
	// Built with -trimpath, or moved: ask the go command where the module is.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", modulePath).Output()
	if err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" && isKitModule(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("semisynctest: cannot find the source of %s to build semisyncd (set %s to a semisyncd binary)", modulePath, BinaryEnv)
}

func isKitModule(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(first) == "module "+modulePath
}

// sourceKey hashes what the binary is built from: go.mod, go.sum and every non-test Go file of
// the module (testdata and hidden directories left out), plus the toolchain and build settings.
func sourceKey(dir string) (string, error) {
	h := sha256.New()
	env, err := exec.Command("go", "env", "GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED").Output()
	if err != nil {
		return "", fmt.Errorf("semisynctest: go env: %w", err)
	}
	h.Write(env)
	fmt.Fprintf(h, "GOFLAGS=%s\n", buildGoflags())
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if name == "go.mod" || name == "go.sum" || (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("semisynctest: reading %s: %w", dir, err)
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s\n", rel)
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

// buildGoflags is GOFLAGS without -mod=…: the kit's module is built as its own main module
// (possibly read-only, in the module cache), whatever the calling module asks for itself.
func buildGoflags() string {
	var keep []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "--mod=") {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}

// buildCached builds cmd/semisyncd into the user cache directory unless a build of the same
// key is there, holding an exclusive file lock meanwhile.
func buildCached() (string, string, error) {
	dir, err := moduleDir()
	if err != nil {
		return "", "", err
	}
	key, err := sourceKey(dir)
	if err != nil {
		return "", "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "semisyncd", key)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", "", fmt.Errorf("semisynctest: %w", err)
	}
	bin := filepath.Join(out, "semisyncd")
	lock, err := os.OpenFile(filepath.Join(out, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", "", fmt.Errorf("semisynctest: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("semisynctest: locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		now := time.Now()
		_ = os.Chtimes(bin, now, now) // recently used: kept by pruneBuilds
		return bin, fmt.Sprintf("semisynctest: using semisyncd %s (built earlier from %s; set %s to use another)", bin, dir, BinaryEnv), nil
	}
	start := time.Now()
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/semisyncd")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+buildGoflags(), "GOWORK=off")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.Remove(tmp)
		return "", "", fmt.Errorf("semisynctest: building semisyncd in %s: %w\n%s", dir, err, msg)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", "", fmt.Errorf("semisynctest: %w", err)
	}
	pruneBuilds(filepath.Dir(out), key)
	return bin, fmt.Sprintf("semisynctest: built semisyncd into %s from %s in %v (set %s to use another)", bin, dir, time.Since(start).Round(time.Millisecond), BinaryEnv), nil
}

// keepBuilds is how many builds of other source versions pruneBuilds keeps besides the current
// one; it removes the others once unused for pruneAge.
const (
	keepBuilds = 2
	pruneAge   = time.Hour
)

// pruneBuilds removes old builds from root (each ≈75 MB), keeping current and the keepBuilds
// most recently used others. A build in use by a running test was used less than pruneAge ago.
func pruneBuilds(root, current string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type build struct {
		dir  string
		used time.Time
	}
	var builds []build
	for _, e := range entries {
		if !e.IsDir() || e.Name() == current {
			continue
		}
		dir := filepath.Join(root, e.Name())
		used := time.Time{}
		if st, err := os.Stat(filepath.Join(dir, "semisyncd")); err == nil {
			used = st.ModTime()
		}
		builds = append(builds, build{dir, used})
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i].used.After(builds[j].used) })
	for i, b := range builds {
		if i >= keepBuilds && time.Since(b.used) > pruneAge {
			_ = os.RemoveAll(b.dir)
		}
	}
}
