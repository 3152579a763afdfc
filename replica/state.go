package replica

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
)

// stateFile is the replica's metadata in the data directory: MySQL's
// connection metadata (master.info) and applier metadata (relay-log.info)
// in one JSON document, replaced atomically on every change.
const stateFile = "replica.json"

// SourceConfig is the replication source as CHANGE REPLICATION SOURCE TO
// sets it.
type SourceConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
	// AutoPosition: dump by GTID (COM_BINLOG_DUMP_GTID with the replica's
	// executed and retrieved GTIDs) instead of by file and position.
	AutoPosition bool `json:"auto_position"`
	// ConnectRetry is the wait between connection attempts, in seconds.
	ConnectRetry int `json:"connect_retry"`
	// RetryCount is how many reconnection attempts the IO thread makes
	// before it gives up.
	RetryCount int `json:"retry_count"`
	// HeartbeatPeriod is the source's heartbeat interval in seconds (0:
	// none).
	HeartbeatPeriod float64 `json:"heartbeat_period"`
	// TLS (SOURCE_SSL…, tls.go): SSL asks for TLS; SSLCA / SSLCAPath name the
	// authority (a file, a directory of PEM files) the source's certificate
	// is checked against; SSLCert / SSLKey are the replica's own certificate;
	// SSLVerifyServerCert also checks the source's host name.
	SSL                 bool   `json:"ssl,omitempty"`
	SSLCA               string `json:"ssl_ca,omitempty"`
	SSLCAPath           string `json:"ssl_capath,omitempty"`
	SSLCert             string `json:"ssl_cert,omitempty"`
	SSLKey              string `json:"ssl_key,omitempty"`
	SSLVerifyServerCert bool   `json:"ssl_verify_server_cert,omitempty"`
}

// Defaults of a fresh configuration (MySQL 8.0's).
const (
	DefaultPort         = 3306
	DefaultConnectRetry = 60
	DefaultRetryCount   = 86400
	DefaultNetTimeout   = 60
)

func defaultSource() SourceConfig {
	return SourceConfig{Port: DefaultPort, ConnectRetry: DefaultConnectRetry, RetryCount: DefaultRetryCount, HeartbeatPeriod: DefaultNetTimeout / 2}
}

// state is what survives a restart.
type state struct {
	// Configured: CHANGE REPLICATION SOURCE TO was run (and not undone by
	// RESET REPLICA ALL).
	Configured bool         `json:"configured"`
	Source     SourceConfig `json:"source"`
	// SourceUUID and SourceServerID are the source's identity, learnt at
	// the last connection.
	SourceUUID     string `json:"source_uuid,omitempty"`
	SourceServerID uint32 `json:"source_server_id,omitempty"`
	// SQL is where the SQL thread continues in the relay log, Exec the
	// source position of the last applied transaction. Both may lag behind
	// the data after a crash (they are written after the commit); the
	// transactions in between are skipped by GTID.
	SQL  RelayPos        `json:"sql_relay_pos"`
	Exec binlog.Position `json:"exec_source_pos"`
}

func loadState(dir string) (state, error) {
	st := state{Source: defaultSource()}
	buf, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("replica: %w", err)
	}
	if err := json.Unmarshal(buf, &st); err != nil {
		return st, fmt.Errorf("replica: %s: %w", stateFile, err)
	}
	return st, nil
}

// saveState replaces replica.json atomically (through fs: nil is the real
// file system); a failure leaves the previous content.
func saveState(fs vfs.FS, dir string, st state) error {
	buf, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := vfs.WriteFileAtomic(fs, filepath.Join(dir, stateFile), append(buf, '\n')); err != nil {
		return fmt.Errorf("replica: save %s: %w", stateFile, err)
	}
	return nil
}
