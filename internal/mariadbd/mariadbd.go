// Package mariadbd starts a stock MariaDB server from Debian's mariadb-server package, for the
// integration tests and the comparison bench: one mariadbd process on 127.0.0.1 and a free
// port, in its own directory, administered through the mariadb client on its socket.
package mariadbd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotInstalled is returned (wrapped, naming the Debian package) by Start when mariadbd,
// mariadb-install-db or the mariadb client is missing.
var ErrNotInstalled = errors.New("not installed")

// startTimeout bounds the wait for a started mariadbd to answer.
const startTimeout = 30 * time.Second

// Server is one running mariadbd.
type Server struct {
	// Dir holds the configuration, data, socket and error log; Stop does not remove it.
	Dir string
	// Sock is the Unix socket the mariadb client reaches root through (socket authentication).
	Sock string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Cmd is the mariadbd process.
	Cmd *exec.Cmd
}

// Installed reports whether the server, its installer and its client are on this machine, or
// an error wrapping ErrNotInstalled that names the missing Debian package.
func Installed() (server string, err error) {
	server, err = exec.LookPath("mariadbd")
	if err != nil {
		server = "/usr/sbin/mariadbd"
		if _, err := os.Stat(server); err != nil {
			return "", fmt.Errorf("mariadbd %w (Debian package mariadb-server)", ErrNotInstalled)
		}
	}
	if _, err := exec.LookPath("mariadb-install-db"); err != nil {
		return "", fmt.Errorf("mariadb-install-db %w (Debian package mariadb-server)", ErrNotInstalled)
	}
	if _, err := exec.LookPath("mariadb"); err != nil {
		return "", fmt.Errorf("mariadb client %w (Debian package mariadb-client)", ErrNotInstalled)
	}
	return server, nil
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start initialises a data directory under dir (which must exist and be empty) and starts
// mariadbd on port with @@server_id serverID, root authenticated by socket, the relay log in the
// data directory and skip_slave_start; extraConf lines (e.g. "log_bin=binlog") are appended to
// its [mariadbd] section. It returns once the server answers SELECT 1, or after 30s with an
// error quoting its error log (the process is killed then).
func Start(dir string, port, serverID int, extraConf ...string) (*Server, error) {
	bin, err := Installed()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Sock: filepath.Join(dir, "mysqld.sock"), Port: port}
	cnf := filepath.Join(dir, "my.cnf")
	conf := fmt.Sprintf(`[mariadbd]
user=root
basedir=/usr
lc_messages_dir=/usr/share/mysql
datadir=%[1]s/data
socket=%[1]s/mysqld.sock
pid_file=%[1]s/mysqld.pid
log_error=%[1]s/error.log
port=%[2]d
bind_address=127.0.0.1
skip_name_resolve
server_id=%[3]d
relay_log=%[1]s/data/relay-bin
skip_slave_start
innodb_buffer_pool_size=32M
`, dir, port, serverID) + strings.Join(extraConf, "\n") + "\n"
	if err := os.WriteFile(cnf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command("mariadb-install-db", "--defaults-file="+cnf, "--auth-root-authentication-method=socket", "--skip-test-db").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	s.Cmd = exec.Command(bin, "--defaults-file="+cnf)
	if err := s.Cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := s.Query("SELECT 1"); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("mariadbd did not start within %v:\n%s", startTimeout, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Query runs SQL as root through the mariadb client in batch mode without column names and
// returns its output (tab-separated rows, one a line); on failure the error carries the
// client's message.
func (s *Server) Query(q string) (string, error) {
	out, err := exec.Command("mariadb", "-S", s.Sock, "-uroot", "--default-character-set=utf8mb4", "-B", "-N", "-e", q).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mariadb: %s: %v: %s", q, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Stop kills the process and waits for it.
func (s *Server) Stop() {
	if s.Cmd != nil && s.Cmd.Process != nil {
		_ = s.Cmd.Process.Kill()
		_ = s.Cmd.Wait()
	}
}
