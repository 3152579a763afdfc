package semisynctest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/semisyncd/semisyncd/binlog"
)

// gtidSubtract returns the GTIDs of set a that set b lacks, in MySQL's text form ("" when a is
// a subset of b), as MySQL's GTID_SUBTRACT(a, b). Cost: one lookup per GTID of a.
func gtidSubtract(a, b string) (string, error) {
	as, err := binlog.ParseGTIDSet(a)
	if err != nil {
		return "", fmt.Errorf("GTID set %q: %w", a, err)
	}
	bs, err := binlog.ParseGTIDSet(b)
	if err != nil {
		return "", fmt.Errorf("GTID set %q: %w", b, err)
	}
	if bs.ContainsSet(as) {
		return "", nil
	}
	out := binlog.NewGTIDSet()
	// as.String() is canonical: "uuid:lo-hi:n,uuid2:…".
	for _, part := range strings.Split(as.String(), ",") {
		fields := strings.Split(part, ":")
		sid, err := binlog.ParseSID(fields[0])
		if err != nil {
			return "", err
		}
		for _, r := range fields[1:] {
			lo, hi, ranged := strings.Cut(r, "-")
			first, _ := strconv.ParseInt(lo, 10, 64)
			last := first
			if ranged {
				last, _ = strconv.ParseInt(hi, 10, 64)
			}
			for g := first; g <= last; g++ {
				if !bs.Contains(sid, g) {
					out.Add(sid, g)
				}
			}
		}
	}
	return out.String(), nil
}
