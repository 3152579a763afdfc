package sysvars

import (
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
)

// Option is the command-line form of one variable, as mysqld takes it: the variable's name with
// dashes (--rpl-semi-sync-source-timeout=5000). A boolean option may be given without a value
// (ON), with =ON|OFF|TRUE|FALSE|1|0, or as --skip-<name> (OFF).
type Option struct {
	Name     string // e.g. "rpl-semi-sync-source-timeout"
	Variable string // e.g. "rpl_semi_sync_source_timeout"
	Bool     bool   // a boolean option
	Default  string // the default as mysqld --verbose --help prints it
	Usage    string // one line of help
}

// Options returns the options of every variable of every family, sorted by name.
func Options() []Option {
	opts := make([]Option, 0, len(variables))
	for _, v := range variables {
		o := Option{
			Name:     strings.ReplaceAll(v.name, "_", "-"),
			Variable: v.name,
			Bool:     v.def.kind == kindBool,
			Usage:    v.def.usage + " (" + v.family.PluginName() + " plugin)",
		}
		switch v.def.kind {
		case kindBool:
			o.Default = map[bool]string{false: "FALSE", true: "TRUE"}[v.def.def != 0]
		case kindEnum:
			o.Default = v.def.values[v.def.def]
		default:
			o.Default = strconv.FormatUint(v.def.def, 10)
		}
		opts = append(opts, o)
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].Name < opts[j].Name })
	return opts
}

// SetStartupValues records the values variables take whenever their family is installed (at
// start, from the data directory or --plugin-load, or later by INSTALL PLUGIN), from option
// text keyed by variable name. Options of a family that is never installed are ignored, as
// mysqld ignores loose- options of an absent plugin. It returns one message per value mysqld
// would adjust with a warning (an unrecognised boolean is OFF, a number outside the range is
// clamped), and an error for a value mysqld refuses at start (not a number, a negative number,
// an unknown enum value, an unknown variable).
func (s *State) SetStartupValues(vals map[string]string) (warnings []string, err error) {
	parsed := map[string]any{}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown variable '%s'", name)
		}
		raw, warning, err := parseOption(v, vals[name])
		if err != nil {
			return nil, err
		}
		if warning != "" {
			warnings = append(warnings, warning)
		}
		parsed[v.name] = gmsValue(v.def, raw)
	}
	s.startupMu.Lock()
	defer s.startupMu.Unlock()
	for name, val := range parsed {
		s.startup[name] = val
	}
	return warnings, nil
}

// parseOption parses one option value as mysqld's my_getopt does.
func parseOption(v variable, text string) (raw uint64, warning string, err error) {
	d := v.def
	switch d.kind {
	case kindBool:
		switch strings.ToLower(text) {
		case "1", "true", "on":
			return 1, "", nil
		case "0", "false", "off":
			return 0, "", nil
		}
		return 0, fmt.Sprintf("option '%s': boolean value '%s' wasn't recognized. Set to OFF.", v.name, text), nil
	case kindEnum:
		for i, n := range d.values {
			if strings.EqualFold(text, n) {
				return uint64(i), "", nil
			}
		}
		if n, err := strconv.ParseUint(text, 10, 64); err == nil && n < uint64(len(d.values)) {
			return n, "", nil
		}
		return 0, "", fmt.Errorf("invalid value '%s' for option '%s' (one of %s)", text, v.name, strings.Join(d.values, ", "))
	}
	n, err := parseNumber(text)
	if err != nil {
		return 0, "", fmt.Errorf("option '%s': %w", v.name, err)
	}
	clamped := min(max(n, d.min), d.max)
	if clamped != n {
		warning = fmt.Sprintf("option '%s': unsigned value %d adjusted to %d.", v.name, n, clamped)
	}
	return clamped, warning, nil
}

// parseNumber parses an unsigned option value with mysqld's optional size suffix
// (K, M, G, T, P, E: powers of 1024).
func parseNumber(text string) (uint64, error) {
	if strings.HasPrefix(strings.TrimSpace(text), "-") {
		return 0, fmt.Errorf("incorrect unsigned value: '%s'", text)
	}
	digits, shift := text, 0
	if n := len(text); n > 0 {
		if i := strings.IndexByte("KMGTPE", upper(text[n-1])); i >= 0 {
			digits, shift = text[:n-1], 10*(i+1)
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("incorrect unsigned integer value: '%s'", text)
	}
	if shift > 0 && bits.LeadingZeros64(n) < shift {
		return 0, fmt.Errorf("value '%s' is out of range", text)
	}
	return n << shift, nil
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
