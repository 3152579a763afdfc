package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// tlsDSN is srv's DSN over TLS, without checking the certificate (the driver's skip-verify).
func tlsDSN(t *testing.T, srv *Server) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = "skip-verify"
	return cfg.FormatDSN()
}

// mariadbClient returns the path of the mariadb (or mysql) command-line client, skipping the
// test without one.
func mariadbClient(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"mariadb", "mysql"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no mysql client: install the Debian package mariadb-client")
	return ""
}

// runTLSClient runs the client against srv with args and script on stdin.
func runTLSClient(t *testing.T, client string, srv *Server, script string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-h", host, "-P", port, "-u", "root", "--protocol=TCP"}, args...)
	cmd := exec.CommandContext(ctx, client, all...)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTLSMariaDBClient: the mariadb client with --ssl and the generated CA connects over TLS
// (the server verified by its certificate), its \s shows the cipher, Ssl_version a TLS
// version; with --require-secure-transport a client without TLS gets 3159.
func TestTLSMariaDBClient(t *testing.T) {
	client := mariadbClient(t)
	srv := StartServer(t, WithArgs("--require-secure-transport"))
	ca := filepath.Join(srv.DataDir, "ca.pem")

	out, err := runTLSClient(t, client, srv, "SHOW STATUS LIKE 'Ssl_version';\nSHOW STATUS LIKE 'Ssl_cipher';\n\\s\n",
		"--ssl", "--ssl-ca="+ca, "--ssl-verify-server-cert", "-B")
	if err != nil {
		t.Fatalf("%s --ssl: %v\n%s", client, err, out)
	}
	if !strings.Contains(out, "Ssl_version\tTLSv1.3") && !strings.Contains(out, "Ssl_version\tTLSv1.2") {
		t.Errorf("Ssl_version over TLS:\n%s", out)
	}
	if strings.Contains(out, "Ssl_cipher\t\n") || !strings.Contains(out, "Ssl_cipher\t") {
		t.Errorf("Ssl_cipher empty over TLS:\n%s", out)
	}
	if !strings.Contains(out, "Cipher in use is") {
		t.Errorf("\\s does not show TLS:\n%s", out)
	}

	out, err = runTLSClient(t, client, srv, "SELECT 1;\n", "--skip-ssl", "-B")
	if err == nil || !strings.Contains(out, "ERROR 3159 (HY000): Connections using insecure transport are prohibited while --require_secure_transport=ON.") {
		t.Errorf("%s --skip-ssl with require_secure_transport: %v\n%s", client, err, out)
	}
}

// TestReplicationOverTLS: a semisyncd replica of a semisyncd primary that requires secure
// transport connects with SOURCE_SSL=1, SOURCE_SSL_CA and SOURCE_SSL_VERIFY_SERVER_CERT=1 and
// replicates with semi-sync (yes_tx rose, status ON, the rows arrived), also after the replica
// restarts; SHOW REPLICA STATUS shows the Source_SSL_* settings. Without SOURCE_SSL the primary
// refuses it (3159), and with a CA that did not sign the primary's certificate the IO thread
// stops at 2026.
func TestReplicationOverTLS(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1", "--require-secure-transport"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := openDB(t, tlsDSN(t, primary)), replica.DB(t, "")
	enableSemiSync(t, pdb, rdb)

	ioErrno := func(want string) {
		t.Helper()
		waitFor(t, replicationTimeout, "Last_IO_Errno "+want, func() bool { return rplStatus(t, rdb, "")["Last_IO_Errno"] == want })
	}
	// Plain: refused by the primary.
	rplConnect(t, rdb, primary, "")
	ioErrno("3159")
	mustExec(t, rdb, "STOP REPLICA")
	// A CA that did not sign the primary's certificate (the replica's own).
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_SSL=1, SOURCE_SSL_CA='"+filepath.Join(replica.DataDir, "ca.pem")+"'")
	mustExec(t, rdb, "START REPLICA")
	ioErrno("2026")
	if e := rplStatus(t, rdb, "")["Last_IO_Error"]; !strings.Contains(e, "SSL connection error: ") {
		t.Errorf("Last_IO_Error = %q", e)
	}
	mustExec(t, rdb, "STOP REPLICA")

	ca := filepath.Join(primary.DataDir, "ca.pem")
	mustExec(t, rdb, "CHANGE REPLICATION SOURCE TO SOURCE_SSL=1, SOURCE_SSL_CA='"+ca+"', SOURCE_SSL_VERIFY_SERVER_CERT=1")
	mustExec(t, rdb, "START REPLICA")
	waitFor(t, replicationTimeout, "semi-sync over TLS", func() bool {
		return semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status") == "ON" &&
			semiSyncStatus(t, pdb, "Rpl_semi_sync_source_clients") == "1"
	})
	st := rplStatus(t, rdb, "")
	for k, v := range map[string]string{"Source_SSL_Allowed": "Yes", "Source_SSL_CA_File": ca, "Source_SSL_Verify_Server_Cert": "Yes",
		"Replica_IO_Running": "Yes", "Last_IO_Errno": "0"} {
		if st[k] != v {
			t.Errorf("SHOW REPLICA STATUS %s = %q, want %q", k, st[k], v)
		}
	}

	yes0, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"))
	mustExec(t, pdb, "CREATE DATABASE s")
	mustExec(t, pdb, "CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(100))")
	for i := 1; i <= 20; i++ {
		mustExec(t, pdb, fmt.Sprintf("INSERT INTO s.t VALUES (%d, 'row %d over TLS')", i, i))
	}
	waitCaughtUp(t, pdb, rdb, replica)
	var n int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM s.t WHERE v LIKE '%over TLS'").Scan(&n); err != nil || n != 20 {
		t.Fatalf("replica has %d rows (%v), want 20", n, err)
	}
	yes1, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"))
	if yes1-yes0 < 22 {
		t.Errorf("Rpl_semi_sync_source_yes_tx rose by %d, want 22 (every transaction)", yes1-yes0)
	}
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_no_tx"); got != "0" {
		t.Errorf("Rpl_semi_sync_source_no_tx = %s", got)
	}
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); got != "ON" {
		t.Errorf("Rpl_semi_sync_source_status = %s", got)
	}

	// The TLS settings are kept across a restart of the replica.
	replica = replica.RestartWithArgs(t, "--server-id", "2", "--rpl-semi-sync-replica-enabled")
	rdb = replica.DB(t, "")
	waitFor(t, replicationTimeout, "semi-sync over TLS after a restart", func() bool {
		return semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status") == "ON"
	})
	mustExec(t, pdb, "INSERT INTO s.t VALUES (21, 'after the restart')")
	waitCaughtUp(t, pdb, rdb, replica)
	if got := rplStatus(t, rdb, "")["Source_SSL_Allowed"]; got != "Yes" {
		t.Errorf("Source_SSL_Allowed after a restart = %q", got)
	}
	if yes2, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx")); yes2 != yes1+1 {
		t.Errorf("Rpl_semi_sync_source_yes_tx = %d after one more commit, want %d", yes2, yes1+1)
	}
}

// TestTLSFlags: --ssl-cert, --ssl-key and --ssl-ca name the certificates (nothing is generated
// in the data dir then), --tls-version limits the versions, and a bad --tls-version stops the
// start.
func TestTLSFlags(t *testing.T) {
	client := mariadbClient(t)
	first := StartServer(t)
	certs := first.DataDir
	srv := StartServer(t, WithArgs("--ssl-cert", filepath.Join(certs, "server-cert.pem"), "--ssl-key", filepath.Join(certs, "server-key.pem"),
		"--ssl-ca", filepath.Join(certs, "ca.pem"), "--tls-version", "TLSv1.3"))
	if _, err := os.Stat(filepath.Join(srv.DataDir, "ca.pem")); err == nil {
		t.Error("ca.pem was generated although --ssl-cert was given")
	}
	out, err := runTLSClient(t, client, srv, "SHOW VARIABLES LIKE 'ssl_cert';\nSHOW VARIABLES LIKE 'tls_version';\nSHOW STATUS LIKE 'Ssl_version';\n",
		"--ssl", "--ssl-ca="+filepath.Join(certs, "ca.pem"), "--ssl-verify-server-cert", "-B", "-N")
	if err != nil {
		t.Fatalf("%s: %v\n%s", client, err, out)
	}
	want := "ssl_cert\t" + filepath.Join(certs, "server-cert.pem") + "\ntls_version\tTLSv1.3\nSsl_version\tTLSv1.3\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	bad := exec.Command(binary, "serve", "--port", "0", "--data-dir", t.TempDir(), "--tls-version", "TLSv1")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "tls_version") {
		t.Errorf("--tls-version TLSv1: %v\n%s", err, out)
	}
}
