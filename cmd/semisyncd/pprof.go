package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"

	"github.com/sirupsen/logrus"
)

// startPprof serves Go's profiling endpoints (/debug/pprof/…, as net/http/pprof) on addr, on
// their own listener and mux, so that nothing of them reaches the metrics endpoint or the
// default mux. It returns the address listened on and a function that closes the listener. Meant for profiling runs, e.g.
//
//	go tool pprof 'http://127.0.0.1:6060/debug/pprof/profile?seconds=20'
func startPprof(addr string, log *logrus.Entry) (string, func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Warn("pprof endpoint stopped")
		}
	}()
	log.WithField("addr", l.Addr().String()).Info("pprof endpoint listening")
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// sampleContention turns on the runtime's mutex and block profiles for --pprof-contention: one
// mutex contention event in 10 and blocking events of about 10µs and more.
func sampleContention() {
	runtime.SetMutexProfileFraction(10)
	runtime.SetBlockProfileRate(10_000)
}
