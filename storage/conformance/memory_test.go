package conformance

import (
	"os"
	"testing"

	"github.com/dolthub/go-mysql-server/enginetest"
)

// TestMemoryEngineSuites runs the same suites on GMS's memory engine
// (CONFORMANCE_MEMORY=1), to compare what passes there with the skip list:
// a skipped test that also fails on memory is GMS's, not ours.
func TestMemoryEngineSuites(t *testing.T) {
	if os.Getenv("CONFORMANCE_MEMORY") == "" {
		t.Skip("set CONFORMANCE_MEMORY=1 to run the suites on GMS's memory engine")
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, enginetest.NewDefaultMemoryHarness())
		})
	}
}
