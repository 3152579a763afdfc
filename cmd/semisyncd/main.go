// Command semisyncd is a MySQL-wire-compatible server with semi-synchronous replication.
//
//	semisyncd serve [flags]   run the server until SIGINT or SIGTERM
//	semisyncd version         print the version
//
// Every serve flag can also be given in the environment as SEMISYNCD_<NAME>, e.g.
// SEMISYNCD_PORT=3307. Exit status: 0 after a clean shutdown, 1 when the server cannot start
// (the reason is logged), 2 when shutdown overran its bound and the process gave up waiting.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/semisyncd/semisyncd/internal/gcpolicy"
	"github.com/semisyncd/semisyncd/sqlserver"
	"github.com/semisyncd/semisyncd/storage"
	"github.com/semisyncd/semisyncd/sysvars"
)

// version is the binary's version; release builds set it with
// -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// shutdownTimeout bounds shutdown after a signal. sqlserver.Server.Close is itself bounded; this
// is the last guard that keeps the process from hanging.
const shutdownTimeout = 15 * time.Second

func main() {
	// GOGC 400 and a memory limit that follows the live heap, unless the
	// environment sets GOGC / GOMEMLIMIT (see package gcpolicy).
	gcpolicy.Start(os.Getenv, logrus.NewEntry(logrus.StandardLogger()))
	if err := newApp().Run(os.Args); err != nil {
		logrus.WithError(err).Error("semisyncd failed")
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "semisyncd",
		Usage:   "a MySQL-wire-compatible server with semi-synchronous replication",
		Version: version,
		Commands: []*cli.Command{
			{
				Name:   "serve",
				Usage:  "run the server until SIGINT or SIGTERM",
				Flags:  serveFlags(),
				Action: serve,
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					_, err := fmt.Fprintf(c.App.Writer, "semisyncd %s\n", version)
					return err
				},
			},
		},
	}
}

func env(name string) []string { return []string{"SEMISYNCD_" + name} }

func serveFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "host", Value: "127.0.0.1", EnvVars: env("HOST"), Usage: "address to listen on"},
		&cli.IntFlag{Name: "port", Value: 3306, EnvVars: env("PORT"), Usage: "TCP port; 0 picks a free one (logged in the ready line)"},
		&cli.StringFlag{Name: "data-dir", EnvVars: env("DATA_DIR"), Usage: "data directory; unset: a fresh temporary directory, removed at exit"},
		&cli.UintFlag{Name: "server-id", Value: 1, EnvVars: env("SERVER_ID"), Usage: "@@server_id"},
		&cli.StringFlag{Name: "server-uuid", EnvVars: env("SERVER_UUID"), Usage: "@@server_uuid; unset: generated once and kept in <data-dir>/server-uuid"},
		&cli.StringFlag{Name: "user", Value: sqlserver.DefaultUser, EnvVars: env("USER"), Usage: "administrative account (user@localhost, all privileges)"},
		&cli.StringFlag{Name: "password", EnvVars: env("PASSWORD"), Usage: "password of --user (empty: none)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "panic, fatal, error, warn, info, debug or trace"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "text or json"},
		&cli.StringFlag{Name: "plugin-load", EnvVars: env("PLUGIN_LOAD"), Usage: "plugins to load at start for this run only, as mysqld's: name=library;… or library;…"},
		&cli.StringSliceFlag{Name: "plugin-load-add", EnvVars: env("PLUGIN_LOAD_ADD"), Usage: "more plugins to load at start for this run only; repeatable"},
		&cli.StringFlag{Name: "plugin-dir", Value: sqlserver.DefaultPluginDir, EnvVars: env("PLUGIN_DIR"), Usage: "@@plugin_dir (the four semi-sync plugins are built in; nothing is loaded from it)"},
		&cli.StringFlag{Name: "metrics-addr", EnvVars: env("METRICS_ADDR"), Usage: "host:port of a Prometheus /metrics endpoint (commit wait and latency histograms, per-replica ACK latency and lag); unset: none"},
		&cli.StringFlag{Name: "pprof-addr", EnvVars: env("PPROF_ADDR"), Usage: "host:port of Go's /debug/pprof/ endpoints, for profiling; unset: none"},
		&cli.BoolFlag{Name: "pprof-contention", EnvVars: env("PPROF_CONTENTION"), Usage: "with --pprof-addr: also sample mutex contention and blocking (/debug/pprof/mutex, /debug/pprof/block); costs a little CPU"},
		&cli.BoolFlag{Name: "read-only", EnvVars: env("READ_ONLY"), Usage: "start with @@read_only ON: writes need SUPER or CONNECTION_ADMIN"},
		&cli.BoolFlag{Name: "super-read-only", EnvVars: env("SUPER_READ_ONLY"), Usage: "start with @@super_read_only (and @@read_only) ON: no account may write; replication applies"},
		&cli.StringFlag{Name: "secure-file-priv", EnvVars: env("SECURE_FILE_PRIV"), Usage: "directory LOAD_FILE, INTO OUTFILE and LOAD DATA are limited to; \"\" for anywhere, NULL for none (default: secure-file-priv under the data dir)"},
		&cli.StringFlag{Name: "ssl-cert", EnvVars: env("SSL_CERT"), Usage: "server certificate (PEM) for TLS; relative to the data dir (default: server-cert.pem there, generated at the first start)"},
		&cli.StringFlag{Name: "ssl-key", EnvVars: env("SSL_KEY"), Usage: "its private key (PEM); relative to the data dir (default: server-key.pem there)"},
		&cli.StringFlag{Name: "ssl-ca", EnvVars: env("SSL_CA"), Usage: "CA certificate (PEM) client certificates are checked against; relative to the data dir (default: ca.pem there)"},
		&cli.StringFlag{Name: "tls-version", EnvVars: env("TLS_VERSION"), Value: sqlserver.DefaultTLSVersion, Usage: "TLS versions offered: TLSv1.2, TLSv1.3, comma-separated"},
		&cli.BoolFlag{Name: "require-secure-transport", EnvVars: env("REQUIRE_SECURE_TRANSPORT"), Usage: "start with @@require_secure_transport ON: TCP clients must use TLS (3159 otherwise)"},
		&cli.StringFlag{Name: "event-scheduler", Value: "ON", EnvVars: env("EVENT_SCHEDULER"), Usage: "@@event_scheduler at start: ON, OFF or DISABLED (cannot be turned on at run time)"},
		&cli.BoolFlag{Name: "skip-replica-start", Aliases: []string{"skip-slave-start"}, EnvVars: env("SKIP_REPLICA_START"), Usage: "do not start a configured replica's threads at start (@@skip_replica_start)"},
	}, semisyncFlags()...)
}

// semisyncFlags returns a flag per semi-sync variable, named as mysqld's option
// (--rpl-semi-sync-source-timeout=5000), and for booleans a hidden --skip-<name>. A value
// applies whenever the variable's plugin is loaded, as a loose- option does in mysqld.
func semisyncFlags() []cli.Flag {
	var flags []cli.Flag
	for _, o := range sysvars.Options() {
		v := &optionValue{variable: o.Variable, isBool: o.Bool, def: o.Default}
		flags = append(flags, &cli.GenericFlag{
			Name:     o.Name,
			Value:    v,
			EnvVars:  env(strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_"))),
			Usage:    o.Usage,
			Category: "semi-sync variables",
		})
		if o.Bool {
			flags = append(flags, &cli.GenericFlag{Name: "skip-" + o.Name, Value: skipValue{v}, Hidden: true})
		}
	}
	return flags
}

// optionValue is the value of one semi-sync variable's flag: the text as given, for
// sysvars.State.SetStartupValues to check. A boolean's flag may be given without a value
// (meaning ON) or with =ON|OFF|TRUE|FALSE|1|0.
type optionValue struct {
	variable string
	isBool   bool
	def      string
	text     string
	set      bool
}

func (v *optionValue) Set(s string) error {
	v.text, v.set = s, true
	return nil
}

func (v *optionValue) String() string {
	if v == nil {
		return ""
	}
	if v.set {
		return v.text
	}
	return v.def
}

// IsBoolFlag lets a boolean option be given without a value (flag.boolFlag).
func (v *optionValue) IsBoolFlag() bool { return v.isBool }

// skipValue is --skip-<name> of a boolean option: it sets the option to OFF.
type skipValue struct{ opt *optionValue }

func (s skipValue) Set(string) error { return s.opt.Set("OFF") }
func (s skipValue) String() string   { return "" }
func (s skipValue) IsBoolFlag() bool { return true }

// semisyncOptions returns the semi-sync variables' flags that were given, by variable name.
func semisyncOptions(c *cli.Context) map[string]string {
	out := map[string]string{}
	for _, o := range sysvars.Options() {
		if v, ok := c.Generic(o.Name).(*optionValue); ok && v.set {
			out[v.variable] = v.text
		}
	}
	return out
}

// newBackend returns the storage engine the server runs on. It is the one place that chooses it.
func newBackend(dataDir string) (*storage.Engine, error) {
	return storage.New(storage.Options{}), nil
}

func serve(c *cli.Context) error {
	log, err := setupLogging(c.String("log-level"), c.String("log-format"))
	if err != nil {
		return err
	}

	dataDir, err := prepareDataDir(c.String("data-dir"))
	if err != nil {
		log.WithError(err).Error("cannot prepare the data directory")
		return cli.Exit("", 1)
	}

	port := c.Int("port")
	if port < 0 || port > 65535 {
		log.WithField("port", port).Error("port out of range")
		return cli.Exit("", 1)
	}
	serverID := c.Uint("server-id")
	if serverID == 0 || uint64(serverID) > 1<<32-1 {
		log.WithField("server_id", serverID).Error("server-id must be between 1 and 4294967295")
		return cli.Exit("", 1)
	}

	if addr := c.String("pprof-addr"); addr != "" {
		_, closePprof, err := startPprof(addr, log)
		if err != nil {
			log.WithError(err).WithField("addr", addr).Error("cannot listen for pprof")
			return cli.Exit("", 1)
		}
		defer closePprof()
		if c.Bool("pprof-contention") {
			sampleContention()
		}
	}

	backend, err := newBackend(dataDir)
	if err != nil {
		log.WithError(err).Error("cannot open the storage engine")
		return cli.Exit("", 1)
	}
	cfg := sqlserver.Config{
		Host:            c.String("host"),
		Port:            port,
		DataDir:         dataDir,
		ServerID:        uint32(serverID),
		ServerUUID:      c.String("server-uuid"),
		User:            c.String("user"),
		Password:        c.String("password"),
		PluginLoad:      c.String("plugin-load"),
		PluginLoadAdd:   c.StringSlice("plugin-load-add"),
		PluginDir:       c.String("plugin-dir"),
		SemisyncOptions: semisyncOptions(c),
	}
	cfg.SkipReplicaStart = c.Bool("skip-replica-start")
	cfg.EventScheduler = c.String("event-scheduler")
	cfg.MetricsAddr = c.String("metrics-addr")
	cfg.ReadOnly, cfg.SuperReadOnly = c.Bool("read-only"), c.Bool("super-read-only")
	cfg.SSLCert, cfg.SSLKey, cfg.SSLCA = c.String("ssl-cert"), c.String("ssl-key"), c.String("ssl-ca")
	cfg.TLSVersion = c.String("tls-version")
	cfg.RequireSecureTransport = c.Bool("require-secure-transport")
	if c.IsSet("secure-file-priv") {
		v := c.String("secure-file-priv")
		cfg.SecureFilePriv = &v
	}
	srv, err := sqlserver.New(cfg, backend, log)
	if err != nil {
		log.WithError(err).WithField("addr", fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)).Error("cannot start the server")
		return cli.Exit("", 1)
	}

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(); err != nil {
		log.WithError(err).Error("cannot start the server")
		_ = srv.Close()
		return cli.Exit("", 1)
	}
	select {
	case <-ctx.Done():
	case <-srv.ShutdownRequested(): // a client ran SHUTDOWN
	}
	stop() // a second signal now ends the process at once

	log.Info("shutting down")
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			log.WithError(err).Warn("shutdown finished with an error")
		}
		return nil
	case <-time.After(shutdownTimeout):
		log.WithField("timeout", shutdownTimeout).Error("shutdown did not finish in time; exiting")
		return cli.Exit("", 2)
	}
}

// setupLogging configures logrus for semisyncd and for the libraries that log through logrus's
// standard logger (GMS). Library logs are kept at warn and above unless debug or trace is asked
// for: at info, GMS logs every connection.
func setupLogging(level, format string) (*logrus.Entry, error) {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, cli.Exit(fmt.Sprintf("invalid --log-level %q", level), 1)
	}
	var formatter logrus.Formatter
	switch strings.ToLower(format) {
	case "text":
		formatter = &logrus.TextFormatter{FullTimestamp: true, DisableQuote: true}
	case "json":
		formatter = &logrus.JSONFormatter{}
	default:
		return nil, cli.Exit(fmt.Sprintf("invalid --log-format %q (text or json)", format), 1)
	}
	std := logrus.StandardLogger()
	std.SetFormatter(formatter)
	std.SetOutput(os.Stderr)
	std.SetLevel(min(lvl, logrus.WarnLevel))
	if lvl >= logrus.DebugLevel {
		std.SetLevel(lvl)
	}
	log := logrus.New()
	log.SetFormatter(formatter)
	log.SetOutput(os.Stderr)
	log.SetLevel(lvl)
	return logrus.NewEntry(log), nil
}

// prepareDataDir returns the absolute data directory to use, created when it does not exist.
// An empty dir stays empty: sqlserver.New then makes a temporary one, which Close removes.
func prepareDataDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", err
	}
	return abs, nil
}
