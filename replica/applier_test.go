package replica

import "testing"

// TestIsAccountStatement: account statements are known by their first words, after blanks and
// comments, in any case; other statements (DDL, SET, a GRANT-like word in a name) are not.
func TestIsAccountStatement(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{"CREATE USER 'u'@'%' IDENTIFIED WITH 'caching_sha2_password' AS 'x'", true},
		{"  alter user u identified by 'p'", true},
		{"/* c */ DROP USER u", true},
		{"-- c\nRENAME USER a TO b", true},
		{"# c\nGRANT SELECT ON d.* TO u", true},
		{"revoke all on *.* from u", true},
		{"CREATE ROLE r", true},
		{"DROP ROLE r", true},
		{"SET PASSWORD FOR u = 'x'", true},
		{"SET DEFAULT ROLE r TO u", true},
		{"/*!80000 CREATE USER u */", true},
		{"CREATE TABLE user (id INT)", false},
		{"CREATE DATABASE grants", false},
		{"DROP TABLE users", false},
		{"SET sql_log_bin = 0", false},
		{"GRANTED", false},
		{"INSERT INTO t VALUES ('GRANT')", false},
		{"", false},
		{"/* unterminated", false},
	} {
		if got := IsAccountStatement(tc.query); got != tc.want {
			t.Errorf("IsAccountStatement(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}
