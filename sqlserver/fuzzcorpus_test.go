package sqlserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/client"
	"github.com/go-sql-driver/mysql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/internal/fuzzrun"
	"github.com/semisyncd/semisyncd/internal/wireclient"
)

// recorder is a TCP proxy in front of a server that records every client packet.
type recorder struct {
	ln      net.Listener
	mu      sync.Mutex
	packets []recorded
}

type recorded struct {
	seq     byte
	payload []byte
}

func record(t *testing.T, target string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.relay(c, target)
		}
	}()
	return r
}

func (r *recorder) relay(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() { _, _ = io.Copy(c, s) }()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		p := make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		r.mu.Lock()
		r.packets = append(r.packets, recorded{hdr[3], p})
		r.mu.Unlock()
		if _, err := s.Write(append(hdr[:], p...)); err != nil {
			return
		}
	}
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.packets
	r.packets = nil
	return out
}

// TestWriteFuzzCorpus rewrites the checked-in seed corpora of this package's fuzz targets
// (testdata/fuzz/<FuzzName>/seed-*): the handshake responses and commands go-sql-driver and
// go-mysql (the client our replica uses) send, recorded through a proxy, the replication
// commands our replica and MariaDB send, and truncated and garbled copies. It runs only with
// SEMISYNCD_WRITE_FUZZ_CORPUS=1; inputs the fuzzer found stay.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv(fuzzrun.WriteSeedsEnv) != "1" {
		t.Skip("set " + fuzzrun.WriteSeedsEnv + "=1 to rewrite the seed corpora")
	}
	add := fuzzrun.Seeds(t)
	s, _ := wireServer(t)
	rec := record(t, s.Addr())

	// go-sql-driver: text and binary protocol.
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", rec.ln.Addr().String(), "mysql"
	cfg.Timeout = 5 * time.Second
	db := open(t, cfg.FormatDSN())
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 2, 29, 12, 34, 56, 789000000, time.UTC)
	for _, args := range [][]any{{int64(-7), "x"}, {ts, []byte{0, 0xff}}, {nil, 2.5}, {uint64(1 << 63), true}} {
		var a, b any
		if err := db.QueryRowContext(ctx, "SELECT ?, ?", args...).Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// go-mysql, as the replica's IO thread connects.
	gc, err := gomysql.Connect(rec.ln.Addr().String(), "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gc.Execute("SELECT @@global.server_id"); err != nil {
		t.Fatal(err)
	}
	gc.Close()
	time.Sleep(200 * time.Millisecond) // the proxy records the last packets

	n := 0
	seen := map[byte]bool{}
	for _, p := range rec.take() {
		n++
		switch {
		case p.seq == 1 && len(p.payload) > 32 && n > 0: // a handshake response
			name := fmt.Sprintf("captured-%02d", n)
			add("FuzzHandshakeResponse", name, p.payload)
			add("FuzzHandshakeResponse", name+"-cut", p.payload[:len(p.payload)*2/3])
			add("FuzzHandshakeResponse", name+"-flip-flags", fuzzrun.Flip(p.payload, 1))
		case p.seq == 0 && len(p.payload) > 0 && (p.payload[0] == 0x17 || !seen[p.payload[0]]):
			// Every COM_STMT_EXECUTE (each has other parameter types), one of the others. A
			// COM_STMT_CLOSE has no answer: the target waits out its read deadline on it.
			seen[p.payload[0]] = true
			pl := p.payload
			if pl[0] == 0x17 && len(pl) >= 5 { // COM_STMT_EXECUTE: aim at the target's statement 1
				pl = append([]byte(nil), pl...)
				binary.LittleEndian.PutUint32(pl[1:], 1)
			}
			name := fmt.Sprintf("captured-%02d-cmd%#x", n, pl[0])
			add("FuzzCommand", name, pl)
			if len(pl) > 2 && pl[0] != 0x19 {
				add("FuzzCommand", name+"-cut", pl[:len(pl)/2+1])
				add("FuzzCommand", name+"-flip", fuzzrun.Flip(pl, len(pl)/2))
			}
		}
	}

	// Replication commands: our replica's (auto-position with a GTID set, file/position),
	// MariaDB's (file/position, empty file name), and damaged ones.
	set, err := binlog.ParseGTIDSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,4e11fa47-71ca-11e1-9e33-c80aa9429562:1")
	if err != nil {
		t.Fatal(err)
	}
	block := set.SIDBlock()
	cmds := map[string][]byte{
		"dump-gtid":          wireclient.DumpGTID(0, "", uint32(len(block)), block),
		"dump-gtid-file":     wireclient.DumpGTID(13, "binlog.000001", uint32(len(block)), block),
		"dump-gtid-empty":    wireclient.DumpGTID(0, "", 8, make([]byte, 8)),
		"dump-position":      wireclient.Dump(7, "binlog.000001", 4),
		"dump-first":         wireclient.Dump(7, "", 4),
		"register-slave":     wireclient.RegisterSlave(7, "", 3307),
		"register-with-host": wireclient.RegisterSlave(8, "replica.example", 3306),
	}
	which := map[byte]byte{wireclient.ComBinlogDump: 0, wireclient.ComBinlogDumpGTID: 1, wireclient.ComRegisterSlave: 2}
	for name, p := range cmds {
		add("FuzzReplicationCommand", name, which[p[0]], p[1:])
		add("FuzzReplicationCommand", name+"-cut", which[p[0]], p[1:len(p)*2/3])
		add("FuzzReplicationCommand", name+"-flip", which[p[0]], fuzzrun.Flip(p[1:], len(p)/2))
		add("FuzzCommand", "replication-"+name, p)
	}
}
