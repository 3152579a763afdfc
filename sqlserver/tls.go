package sqlserver

// TLS for client connections, as MySQL 8.0 offers it.
//
// Certificates come from --ssl-cert/--ssl-key (and --ssl-ca, the authority client certificates
// are checked against), relative paths being read from the data directory as mysqld reads them
// (it runs in its data directory). Without them the server uses ca.pem, server-cert.pem and
// server-key.pem in the data directory, and when none of MySQL's six auto_generate_certs files is
// there it first writes them all (ca.pem, ca-key.pem, server-cert.pem, server-key.pem,
// client-cert.pem, client-key.pem), as MySQL 8.0 does at its first start; the next start reuses
// them. Without a data directory and without flags there is no TLS (@@have_ssl DISABLED).
//
// The shim (shim.go) terminates TLS itself rather than vitess: vitess would put its tls.Conn
// over the shim, which would then see only ciphertext and could no longer rewrite dump
// commands, guard vitess's parsers or enforce max_allowed_packet.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/semisyncd/semisyncd/binlog/vfs"
)

// The files MySQL 8.0's auto_generate_certs writes in the data directory.
const (
	autoCA         = "ca.pem"
	autoCAKey      = "ca-key.pem"
	autoServerCert = "server-cert.pem"
	autoServerKey  = "server-key.pem"
	autoClientCert = "client-cert.pem"
	autoClientKey  = "client-key.pem"
)

// DefaultTLSVersion is MySQL 8.0's @@tls_version (8.0.28 on: TLSv1 and TLSv1.1 are gone).
const DefaultTLSVersion = "TLSv1.2,TLSv1.3"

// tlsSetup is what the server's TLS was built from, for the variables.
type tlsSetup struct {
	config           *tls.Config // nil: no TLS (have_ssl DISABLED)
	ca, cert, key    string      // @@ssl_ca, @@ssl_cert, @@ssl_key as given or generated
	version          string      // @@tls_version
	generated        bool        // the certificates were generated at this start
	missingAutoFiles []string    // some of the auto files exist but not the server's three: no TLS
}

// setupTLS builds the server's TLS configuration from cfg. Errors: a named certificate or key
// cannot be read or does not parse, the key does not match the certificate, the CA file has
// no certificate, a --tls-version entry is not TLSv1.2 or TLSv1.3, or the generated files
// cannot be written.
func setupTLS(cfg Config) (*tlsSetup, error) {
	st := &tlsSetup{version: cfg.TLSVersion}
	if st.version == "" {
		st.version = DefaultTLSVersion
	}
	minV, maxV, err := parseTLSVersions(st.version)
	if err != nil {
		return nil, err
	}
	st.ca, st.cert, st.key = cfg.SSLCA, cfg.SSLCert, cfg.SSLKey
	if st.cert == "" && st.key == "" && st.ca == "" {
		if cfg.DataDir == "" {
			return st, nil
		}
		var present, missing []string
		for _, f := range []string{autoCA, autoCAKey, autoServerCert, autoServerKey, autoClientCert, autoClientKey} {
			if _, err := os.Stat(filepath.Join(cfg.DataDir, f)); err == nil {
				present = append(present, f)
			} else {
				missing = append(missing, f)
			}
		}
		switch {
		case len(present) == 0:
			if err := generateCerts(cfg.DataDir, cfg.Version, cfg.Host); err != nil {
				return nil, fmt.Errorf("sqlserver: auto_generate_certs: %w", err)
			}
			st.generated = true
		default:
			// MySQL uses the server's three files when they are there, whatever else is.
			for _, f := range []string{autoCA, autoServerCert, autoServerKey} {
				if _, err := os.Stat(filepath.Join(cfg.DataDir, f)); err != nil {
					st.missingAutoFiles = missing
					return st, nil
				}
			}
		}
		st.ca, st.cert, st.key = autoCA, autoServerCert, autoServerKey
	}
	if st.cert == "" || st.key == "" {
		return nil, errors.New("sqlserver: --ssl-cert and --ssl-key go together")
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || cfg.DataDir == "" {
			return p
		}
		return filepath.Join(cfg.DataDir, p)
	}
	pair, err := tls.LoadX509KeyPair(abs(st.cert), abs(st.key))
	if err != nil {
		return nil, fmt.Errorf("sqlserver: ssl_cert/ssl_key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: minV, MaxVersion: maxV}
	if st.ca != "" {
		pemCA, err := os.ReadFile(abs(st.ca))
		if err != nil {
			return nil, fmt.Errorf("sqlserver: ssl_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemCA) {
			return nil, fmt.Errorf("sqlserver: ssl_ca: no certificate in %s", abs(st.ca))
		}
		// MySQL asks for a client certificate and checks one that is sent (REQUIRE X509 is
		// what would make it mandatory).
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	st.config = tc
	return st, nil
}

// parseTLSVersions reads a @@tls_version list into the lowest and highest version allowed.
func parseTLSVersions(list string) (minV, maxV uint16, err error) {
	for _, v := range strings.Split(list, ",") {
		var n uint16
		switch strings.TrimSpace(v) {
		case "TLSv1.2":
			n = tls.VersionTLS12
		case "TLSv1.3":
			n = tls.VersionTLS13
		default:
			return 0, 0, fmt.Errorf("sqlserver: tls_version: %q is not one of TLSv1.2, TLSv1.3", strings.TrimSpace(v))
		}
		if minV == 0 || n < minV {
			minV = n
		}
		if n > maxV {
			maxV = n
		}
	}
	return minV, maxV, nil
}

// certValidity is how long generated certificates are valid: MySQL's ten years.
const certValidity = 10 * 365 * 24 * time.Hour

// generateCerts writes MySQL's six auto_generate_certs files in dir: a self-signed CA and a
// server and a client certificate it signed, named as MySQL names them
// (MySQL_Server_<version>_Auto_Generated_*_Certificate). Keys are ECDSA P-256 (MySQL: RSA
// 2048, which takes seconds to generate on a loaded machine); the server certificate also
// names localhost, 127.0.0.1, ::1 and host, so that a client that verifies the host name
// (SOURCE_SSL_VERIFY_SERVER_CERT) accepts it. Private keys are written mode 0600.
func generateCerts(dir, version, host string) error {
	prefix := "MySQL_Server_" + version + "_Auto_Generated_"
	now := time.Now().Add(-time.Hour)
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	serial := func() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62)) }

	caKey, err := newKey()
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: prefix + "CA_Certificate"},
		NotBefore: now, NotAfter: now.Add(certValidity),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	leaf := func(cn string, usage x509.ExtKeyUsage, names bool) ([]byte, *ecdsa.PrivateKey, error) {
		k, err := newKey()
		if err != nil {
			return nil, nil, err
		}
		sn, err := serial()
		if err != nil {
			return nil, nil, err
		}
		t := &x509.Certificate{
			SerialNumber: sn, Subject: pkix.Name{CommonName: prefix + cn},
			NotBefore: now, NotAfter: now.Add(certValidity),
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if names {
			t.DNSNames = []string{"localhost"}
			t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
			if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
				t.IPAddresses = append(t.IPAddresses, ip)
			} else if ip == nil && host != "" && host != "localhost" {
				t.DNSNames = append(t.DNSNames, host)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, t, caCert, &k.PublicKey, caKey)
		return der, k, err
	}
	srvDER, srvKey, err := leaf("Server_Certificate", x509.ExtKeyUsageServerAuth, true)
	if err != nil {
		return err
	}
	cliDER, cliKey, err := leaf("Client_Certificate", x509.ExtKeyUsageClientAuth, false)
	if err != nil {
		return err
	}
	writeCert := func(name string, der []byte) error {
		return vfs.WriteFileAtomic(nil, filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) error {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		if err := vfs.WriteFileAtomic(nil, p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return err
		}
		return os.Chmod(p, 0o600)
	}
	// Keys first and ca.pem last: a start interrupted half-way leaves no ca.pem, and the next
	// start sees an incomplete set rather than a CA without its key.
	for _, step := range []func() error{
		func() error { return writeKey(autoCAKey, caKey) },
		func() error { return writeKey(autoServerKey, srvKey) },
		func() error { return writeKey(autoClientKey, cliKey) },
		func() error { return writeCert(autoServerCert, srvDER) },
		func() error { return writeCert(autoClientCert, cliDER) },
		func() error { return writeCert(autoCA, caDER) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// tlsVariables returns the TLS system variables' values: @@have_ssl (and @@have_openssl) YES
// with TLS and DISABLED without, @@ssl_ca, @@ssl_cert, @@ssl_key as configured or generated,
// and @@tls_version.
func (st *tlsSetup) variables(requireSecure bool) map[string]interface{} {
	rst := int8(0)
	if requireSecure {
		rst = 1
	}
	have := "DISABLED"
	if st.config != nil {
		have = "YES"
	}
	ca, cert, key := st.ca, st.cert, st.key
	if st.config == nil {
		ca, cert, key = "", "", ""
	}
	return map[string]interface{}{
		"have_ssl": have, "have_openssl": have,
		"ssl_ca": ca, "ssl_cert": cert, "ssl_key": key,
		"tls_version": st.version,
		// Every start sets it: GMS's globals outlive a previous Server of the process.
		"require_secure_transport": rst,
	}
}

// installTLSVariables defines @@have_ssl and @@have_openssl (GMS has neither) and makes the TLS
// variables read-only with MySQL 8.0's defaults where GMS's differ (tls_version). MySQL's are
// dynamic and take effect at ALTER INSTANCE RELOAD TLS, which semisyncd does not have.
func installTLSVariables() {
	ro := func(name string) sql.SystemVariable {
		return &sql.MysqlSystemVariable{Name: name, Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Type: types.NewSystemStringType(name), Default: ""}
	}
	vars := []sql.SystemVariable{
		&sql.MysqlSystemVariable{Name: "have_ssl", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Type: types.NewSystemEnumType("have_ssl", "YES", "DISABLED"), Default: "DISABLED"},
		&sql.MysqlSystemVariable{Name: "have_openssl", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Type: types.NewSystemEnumType("have_openssl", "YES", "DISABLED"), Default: "DISABLED"},
		ro("ssl_ca"), ro("ssl_cert"), ro("ssl_key"),
		&sql.MysqlSystemVariable{Name: "tls_version", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global),
			Type: types.NewSystemStringType("tls_version"), Default: DefaultTLSVersion},
	}
	sql.SystemVariables.AddSystemVariables(vars)
}

// tlsVersionName is MySQL's Ssl_version for a negotiated version.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return ""
}

// cipherName is MySQL's Ssl_cipher for a negotiated suite: OpenSSL's name. TLS 1.3 suites
// have the same names in OpenSSL and Go; TLS 1.2 ones are spelled the OpenSSL way.
func cipherName(id uint16) string {
	switch id {
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-ECDSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-ECDSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-ECDSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-RSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-RSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-RSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:
		return "ECDHE-ECDSA-AES128-SHA"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:
		return "ECDHE-ECDSA-AES256-SHA"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:
		return "ECDHE-RSA-AES128-SHA"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:
		return "ECDHE-RSA-AES256-SHA"
	case tls.TLS_RSA_WITH_AES_128_GCM_SHA256:
		return "AES128-GCM-SHA256"
	case tls.TLS_RSA_WITH_AES_256_GCM_SHA384:
		return "AES256-GCM-SHA384"
	}
	return tls.CipherSuiteName(id)
}

// alterUserRequire matches ALTER USER [IF EXISTS] account REQUIRE {NONE|SSL|X509}, which the
// vitess grammar lacks (it has REQUIRE in CREATE USER only).
var alterUserRequire = regexp.MustCompile(`(?is)^\s*ALTER\s+USER\s+(IF\s+EXISTS\s+)?(.+?)\s+REQUIRE\s+(NONE|SSL|X509)\s*;?\s*$`)

// accountName matches an account: user[@host], each part quoted or not.
var accountName = regexp.MustCompile("^(?:'([^']*)'|\"([^\"]*)\"|`([^`]*)`|([A-Za-z0-9_$.-]+))" +
	"(?:\\s*@\\s*(?:'([^']*)'|\"([^\"]*)\"|`([^`]*)`|([A-Za-z0-9_$.%:-]+)))?$")

// erCannotUser is MySQL's ER_CANNOT_USER.
const erCannotUser = 1396

// registerAlterUserRequire adds ALTER USER … REQUIRE {NONE|SSL|X509} for one account: it sets
// mysql.user.ssl_type (”, ANY, X509) as MySQL does. It needs CREATE USER (1227); an unknown
// account is 1396 "Operation ALTER USER failed for 'u'@'h'" unless IF EXISTS. Other ALTER USER
// forms with REQUIRE (with IDENTIFIED BY, several accounts) stay 1064.
func (s *Server) registerAlterUserRequire() {
	s.parser.RegisterStatement(
		func(p string) bool { return strings.HasPrefix(p, "ALTER USER ") && alterUserRequire.MatchString(p) },
		func(_ *sql.Context, query string) (ast.Statement, error) {
			m := alterUserRequire.FindStringSubmatch(query)
			var a []string
			if m != nil {
				a = accountName.FindStringSubmatch(strings.TrimSpace(m[2]))
			}
			if a == nil {
				return nil, mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(query, maxNearLen), 1)
			}
			user := a[1] + a[2] + a[3] + a[4]
			host := a[5] + a[6] + a[7] + a[8]
			if host == "" {
				host = "%"
			}
			ifExists := m[1] != ""
			sslType := map[string]string{"NONE": "", "SSL": "ANY", "X509": "X509"}[strings.ToUpper(m[3])]
			db := s.engine.Analyzer.Catalog.MySQLDb
			return Statement("ALTER USER", nil, GlobalAuth(ast.AuthType_CREATE_USER), func(ctx *sql.Context) ([]sql.Row, error) {
				ed := db.Editor()
				defer ed.Close()
				u, ok := ed.GetUser(mysql_db.UserPrimaryKey{Host: host, User: user})
				if !ok {
					if ifExists {
						return nil, nil
					}
					return nil, mysql.NewSQLError(erCannotUser, stateGeneral, "Operation ALTER USER failed for '%s'@'%s'", user, host)
				}
				u.SslType = sslType
				ed.PutUser(u)
				return nil, db.Persist(ctx, ed)
			}), nil
		})
}

// sessionTLS reports whether ctx's client connection uses TLS (its Ssl_cipher is set).
func sessionTLS(ctx *sql.Context) bool {
	if ctx == nil || ctx.Session == nil {
		return false
	}
	v, err := ctx.Session.GetStatusVariable(ctx, "Ssl_cipher")
	s, _ := v.(string)
	return err == nil && s != ""
}

// erNoSecureTransports is MySQL's ER_NO_SECURE_TRANSPORTS_CONFIGURED.
const erNoSecureTransports = 3160

// secureTransportAvailable undoes SET GLOBAL require_secure_transport = ON on a server without
// TLS and returns MySQL's 3160, after name was set (inner is the registry below
// variableRegistry). Other variables pass.
func secureTransportAvailable(ctx *sql.Context, inner sql.SystemVariableRegistry, name string) error {
	if name != "require_secure_transport" || !globalBool("require_secure_transport") {
		return nil
	}
	if _, v, _ := inner.GetGlobal("have_ssl"); v == "YES" {
		return nil
	}
	_ = inner.SetGlobal(ctx, name, int8(0))
	return mysql.NewSQLError(erNoSecureTransports, stateGeneral,
		"No secure transports (SSL or Shared Memory) are configured, unable to set --require_secure_transport=ON.")
}
