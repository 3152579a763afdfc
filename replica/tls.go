package replica

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
)

// crSSLConnectionError is MySQL's CR_SSL_CONNECTION_ERROR, the IO thread's Last_IO_Errno when
// TLS to the source cannot be set up.
const crSSLConnectionError = 2026

// tlsConfig is the client TLS configuration of SOURCE_SSL=1, nil without it. As MySQL's
// replica: SOURCE_SSL alone encrypts without checking the source's certificate
// (ssl-mode REQUIRED); with SOURCE_SSL_CA or SOURCE_SSL_CAPATH the certificate must chain to
// that authority (VERIFY_CA); SOURCE_SSL_VERIFY_SERVER_CERT=1 also checks that it names the
// source's host (VERIFY_IDENTITY; the system's authorities when no CA is given).
// SOURCE_SSL_CERT/KEY are presented to the source. Relative paths are read from dataDir.
// Errors (a file that cannot be read or parsed) are 2026 SSL connection errors.
func (s SourceConfig) tlsConfig(dataDir string) (*tls.Config, error) {
	if !s.SSL {
		return nil, nil
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || dataDir == "" {
			return p
		}
		return filepath.Join(dataDir, p)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool
	if s.SSLCA != "" || s.SSLCAPath != "" {
		pool = x509.NewCertPool()
		var files []string
		if s.SSLCA != "" {
			files = append(files, abs(s.SSLCA))
		}
		if s.SSLCAPath != "" {
			entries, err := os.ReadDir(abs(s.SSLCAPath))
			if err != nil {
				return nil, sslFailure("SOURCE_SSL_CAPATH: %v", err)
			}
			for _, e := range entries {
				if !e.IsDir() {
					files = append(files, filepath.Join(abs(s.SSLCAPath), e.Name()))
				}
			}
		}
		n := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, sslFailure("SOURCE_SSL_CA: %v", err)
			}
			if pool.AppendCertsFromPEM(b) {
				n++
			}
		}
		if n == 0 {
			return nil, sslFailure("no CA certificate in %s", strings.Join(files, ", "))
		}
		cfg.RootCAs = pool
	}
	if s.SSLCert != "" || s.SSLKey != "" {
		pair, err := tls.LoadX509KeyPair(abs(s.SSLCert), abs(s.SSLKey))
		if err != nil {
			return nil, sslFailure("SOURCE_SSL_CERT/SOURCE_SSL_KEY: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	switch {
	case s.SSLVerifyServerCert:
		cfg.ServerName = s.Host
	case pool != nil:
		// The chain, not the name: Go checks both or neither, so the chain is checked here.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the source sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	default:
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// sslFailure is a 2026 error with MySQL's "SSL connection error: …" text.
func sslFailure(format string, args ...any) error {
	return &gmysql.MyError{Code: crSSLConnectionError, State: "HY000", Message: "SSL connection error: " + fmt.Sprintf(format, args...)}
}

// sslError turns a failed TLS connection attempt into a 2026 error: a TLS handshake or
// certificate failure, or a source that does not offer TLS. Errors the source sent (an ERR
// packet, such as 1045) and other errors are returned unchanged.
func sslError(err error) error {
	var me *gmysql.MyError
	if errors.As(err, &me) {
		return err
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alert     tls.AlertError
	)
	msg := err.Error()
	if causeAs(err, &unknownCA) || causeAs(err, &hostErr) || causeAs(err, &invalid) || causeAs(err, &verifyErr) ||
		causeAs(err, &recordErr) || causeAs(err, &alert) || strings.Contains(msg, "does not support TLS") ||
		strings.Contains(msg, "tls: ") || strings.Contains(msg, "x509: ") {
		return sslFailure("%s", msg)
	}
	return err
}

// causeAs is errors.As that also follows Cause() (the client library's errors wrap that way).
func causeAs[T any](err error, target *T) bool {
	for e := err; e != nil; {
		if errors.As(e, target) {
			return true
		}
		c, ok := e.(interface{ Cause() error })
		if !ok {
			return false
		}
		next := c.Cause()
		if next == e {
			return false
		}
		e = next
	}
	return false
}
