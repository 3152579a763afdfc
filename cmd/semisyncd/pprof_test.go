package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestPprofEndpoint(t *testing.T) {
	addr, closeFn, err := startPprof("127.0.0.1:0", logrus.NewEntry(logrus.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/debug/pprof/", 200, "goroutine"},
		{"/debug/pprof/heap?debug=1", 200, "heap profile"},
		{"/metrics", 404, ""},
	} {
		resp, err := http.Get("http://" + addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s: %d %.80q, want %d with %q", tc.path, resp.StatusCode, b, tc.code, tc.body)
		}
	}
}
