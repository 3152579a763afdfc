package integration

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
