package sqlserver

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/replica"
)

func sqlErrCode(err error) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	return 0
}

// render prints the options a CHANGE statement set, in a fixed order.
func render(o replica.ChangeOptions) string {
	s := ""
	str := func(name string, v *string) {
		if v != nil {
			s += fmt.Sprintf("%s=%q ", name, *v)
		}
	}
	num := func(name string, v *int) {
		if v != nil {
			s += fmt.Sprintf("%s=%d ", name, *v)
		}
	}
	str("host", o.Host)
	num("port", o.Port)
	str("user", o.User)
	str("password", o.Password)
	str("file", o.LogFile)
	if o.LogPos != nil {
		s += fmt.Sprintf("pos=%d ", *o.LogPos)
	}
	if o.AutoPosition != nil {
		s += fmt.Sprintf("auto=%v ", *o.AutoPosition)
	}
	num("retry", o.ConnectRetry)
	num("count", o.RetryCount)
	if o.HeartbeatPeriod != nil {
		s += fmt.Sprintf("heartbeat=%g ", *o.HeartbeatPeriod)
	}
	if o.SSL != nil {
		s += fmt.Sprintf("ssl=%v ", *o.SSL)
	}
	str("ca", o.SSLCA)
	str("capath", o.SSLCAPath)
	str("cert", o.SSLCert)
	str("key", o.SSLKey)
	if o.SSLVerifyServerCert != nil {
		s += fmt.Sprintf("verify=%v ", *o.SSLVerifyServerCert)
	}
	return s
}

func TestParseChangeSource(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want string // rendered options, or "" with code
		old  bool
		code int
	}{
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h', SOURCE_PORT=3307, SOURCE_USER='repl', SOURCE_PASSWORD='p''w\\'d'",
			want: `host="h" port=3307 user="repl" password="p'w'd" `},
		{q: "change master to master_host = \"h2\" , master_log_file='binlog.000002', master_log_pos=120 /* c */ FOR CHANNEL ''",
			want: `host="h2" file="binlog.000002" pos=120 `, old: true},
		// MySQL's grammar takes either prefix in either statement.
		{q: "CHANGE MASTER TO SOURCE_AUTO_POSITION = 1, MASTER_CONNECT_RETRY=5, SOURCE_RETRY_COUNT=7, SOURCE_HEARTBEAT_PERIOD=0.5",
			want: "auto=true retry=5 count=7 heartbeat=0.5 ", old: true},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_SSL=0, SOURCE_DELAY=0, GET_SOURCE_PUBLIC_KEY=1, SOURCE_HOST='x';", want: `host="x" ssl=false `},
		{q: "CHANGE REPLICATION SOURCE TO", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h',", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' SOURCE_PORT=1", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST=h", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_PORT='1'", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_PORT=70000", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_PORT=-1", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST='a', SOURCE_HOST='b'", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO HOST='a'", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=2", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HEARTBEAT_PERIOD=-1", code: 1703},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_SSL=1, SOURCE_SSL_CA='/ca.pem', SOURCE_SSL_VERIFY_SERVER_CERT=1",
			want: `ssl=true ca="/ca.pem" verify=true `},
		// MariaDB's spellings.
		{q: "CHANGE MASTER TO MASTER_SSL=1, MASTER_SSL_CA='ca.pem', MASTER_SSL_CAPATH='/d', MASTER_SSL_CERT='c.pem', MASTER_SSL_KEY='k.pem', MASTER_SSL_VERIFY_SERVER_CERT=0",
			want: `ssl=true ca="ca.pem" capath="/d" cert="c.pem" key="k.pem" verify=false `, old: true},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_SSL='1'", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_SSL_CA=1", code: 1064},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_SSL_CIPHER='AES'", code: 1235},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_SSL_CRL='/crl.pem'", code: 1235},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' FOR CHANNEL 'c2'", code: 3074},
		{q: "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' FOR CHANNEL", code: 1064},
	} {
		o, old, err := parseChangeSource(tc.q)
		if tc.code != 0 {
			if sqlErrCode(err) != tc.code {
				t.Errorf("%s: error %v, want %d", tc.q, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		if got := render(o); got != tc.want || old != tc.old {
			t.Errorf("%s:\n got %s (old %v)\nwant %s (old %v)", tc.q, got, old, tc.want, tc.old)
		}
	}
}

func TestParseStartStop(t *testing.T) {
	for _, tc := range []struct {
		q       string
		verb    string
		old     bool
		threads replica.Threads
		code    int
	}{
		{q: "START REPLICA", verb: "START", threads: replica.AllThreads},
		{q: "start slave io_thread", verb: "START", old: true, threads: replica.IOThread},
		{q: "STOP REPLICA SQL_THREAD FOR CHANNEL ''", verb: "STOP", threads: replica.SQLThread},
		{q: "STOP SLAVE IO_THREAD, SQL_THREAD;", verb: "STOP", old: true, threads: replica.AllThreads},
		{q: "START REPLICA IO_THREAD,", code: 1064},
		{q: "START REPLICA NOW", code: 1064},
		{q: "START REPLICA UNTIL SOURCE_LOG_FILE='b', SOURCE_LOG_POS=4", code: 1235},
		{q: "START REPLICA USER='u' PASSWORD='p'", code: 1235},
		{q: "STOP REPLICA FOR CHANNEL 'x'", code: 3074},
	} {
		verb, old, threads, err := parseStartStop(tc.q)
		if tc.code != 0 {
			if sqlErrCode(err) != tc.code {
				t.Errorf("%s: error %v, want %d", tc.q, err, tc.code)
			}
			continue
		}
		if err != nil || verb != tc.verb || old != tc.old || threads != tc.threads {
			t.Errorf("%s: %s %v %v %v; want %s %v %v", tc.q, verb, old, threads, err, tc.verb, tc.old, tc.threads)
		}
	}
}

// TestReplicaStatementsMatch: the parser hook takes every form of the
// replication statements, and nothing that merely starts alike.
func TestReplicaStatementsMatch(t *testing.T) {
	for q, want := range map[string]bool{
		"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h'":  true,
		"/* x */ change  master\tto master_host='h'":    true,
		"CHANGE REPLICATION FILTER REPLICATE_DO_DB=(d)": false,
		"START REPLICA":                    true,
		"start slave;":                     true,
		"START REPLICATION":                false,
		"START TRANSACTION":                false,
		"STOP SLAVE IO_THREAD":             true,
		"RESET REPLICA ALL":                true,
		"RESET MASTER":                     false,
		"SHOW REPLICA STATUS":              true,
		"SHOW SLAVE STATUS FOR CHANNEL ''": true,
		"SHOW REPLICAS":                    false,
		"SHOW SLAVE HOSTS":                 false,
	} {
		p := NormalizedPrefix(q)
		got := reChange.MatchString(p) || reStartStop.MatchString(p) || reReset.MatchString(p) || reShowStatus.MatchString(p)
		if got != want {
			t.Errorf("%q matched %v, want %v", q, got, want)
		}
	}
}

// TestReplicaStatusColumns: MySQL 8.0's 60 columns; the old names differ
// exactly where MySQL renamed them.
func TestReplicaStatusColumns(t *testing.T) {
	newSch, oldSch := replicaStatusSchema(false), replicaStatusSchema(true)
	if len(newSch) != 60 || len(oldSch) != 60 {
		t.Fatalf("%d and %d columns, want 60", len(newSch), len(oldSch))
	}
	renamed := 0
	for i := range newSch {
		if newSch[i].Name != oldSch[i].Name {
			renamed++
		}
	}
	if renamed != 29 {
		t.Errorf("%d columns renamed, want 29", renamed)
	}
	row := replicaStatusRow(replica.Status{}, "")
	if len(row) != 60 {
		t.Fatalf("status row has %d values", len(row))
	}
}
