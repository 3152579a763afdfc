package integration

import (
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// delayProxy forwards TCP connections to a server, holding every chunk the
// client sends back for delay before passing it on (the replica's ACKs
// reach the primary late); the server's side passes at once. cut closes
// every connection.
type delayProxy struct {
	l      net.Listener
	target string
	delay  time.Duration

	mu    sync.Mutex
	conns []net.Conn
}

func newDelayProxy(t *testing.T, target string, delay time.Duration) *delayProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{l: l, target: target, delay: delay}
	t.Cleanup(func() { l.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *delayProxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *delayProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(s, c, 0)
		go p.pipe(c, s, p.delay)
	}
}

type delayedChunk struct {
	b  []byte
	at time.Time
}

// pipe copies src to dst, each chunk delay after it was read, in order.
func (p *delayProxy) pipe(src, dst net.Conn, delay time.Duration) {
	q := make(chan delayedChunk, 1024)
	go func() {
		defer dst.Close()
		for c := range q {
			if d := time.Until(c.at); d > 0 {
				time.Sleep(d) // the injected delay
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	defer close(q)
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		q <- delayedChunk{b: append([]byte(nil), buf[:n]...), at: time.Now().Add(delay)}
	}
}

func (p *delayProxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// replicaViewRow is a row of information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS.
type replicaViewRow struct {
	serverID                 uint32
	host                     sql.NullString
	port                     sql.NullInt64
	semiSync, connected      string
	ackedFile                sql.NullString
	ackedPos                 sql.NullInt64
	unackedEvents, unackedBy sql.NullInt64
	lastAck                  sql.NullString
	p50, p99                 sql.NullInt64
	reconnects               int64
}

func replicaView(t *testing.T, db *sql.DB) map[uint32]replicaViewRow {
	t.Helper()
	rows, err := db.Query("SELECT SERVER_ID, HOST, PORT, SEMI_SYNC, CONNECTED, ACKED_LOG_FILE, ACKED_LOG_POS, UNACKED_EVENTS, UNACKED_BYTES, " +
		"LAST_ACK_TIMESTAMP, ACK_LATENCY_P50_USEC, ACK_LATENCY_P99_USEC, RECONNECTS FROM information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uint32]replicaViewRow{}
	for rows.Next() {
		var r replicaViewRow
		if err := rows.Scan(&r.serverID, &r.host, &r.port, &r.semiSync, &r.connected, &r.ackedFile, &r.ackedPos,
			&r.unackedEvents, &r.unackedBy, &r.lastAck, &r.p50, &r.p99, &r.reconnects); err != nil {
			t.Fatal(err)
		}
		out[r.serverID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReplicasView: information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS shows
// what two semi-sync replicas did, one of them reaching the primary through
// a proxy that delays its ACKs by 150 ms: both at the primary's last
// position with nothing un-ACKed once caught up, their report ports, the
// delayed one's ACK latency at least the delay, and one reconnect for the
// delayed replica after its link is cut.
func TestReplicasView(t *testing.T) {
	const delay = 150 * time.Millisecond
	primary := StartServer(t, WithArgs("--server-id", "1"))
	fast := StartServer(t, WithArgs("--server-id", "2"))
	slow := StartServer(t, WithArgs("--server-id", "3"))
	pdb, fdb, sdb := primary.DB(t, ""), fast.DB(t, ""), slow.DB(t, "")
	mustExec(t, pdb, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_enabled = 1")
	proxy := newDelayProxy(t, primary.Addr, delay)
	for _, db := range []*sql.DB{fdb, sdb} {
		mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'")
		mustExec(t, db, "SET GLOBAL rpl_semi_sync_replica_enabled = 1")
	}
	rplConnect(t, fdb, primary, "")
	mustExec(t, sdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', SOURCE_CONNECT_RETRY=1", proxy.port()))
	mustExec(t, sdb, "START REPLICA")
	waitStatus(t, pdb, "Rpl_semi_sync_source_clients", "2")

	yes := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx")
	mustExec(t, pdb, "CREATE DATABASE rv")
	mustExec(t, pdb, "CREATE TABLE rv.t (id INT PRIMARY KEY)")
	for i := 0; i < 10; i++ {
		mustExec(t, pdb, "INSERT INTO rv.t VALUES (?)", i)
	}
	if got := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx"); got != yes+12 || globalStatus(t, pdb, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatalf("yes_tx %d (want %d), status %s", got, yes+12, globalStatus(t, pdb, "Rpl_semi_sync_source_status"))
	}
	waitCaughtUp(t, pdb, fdb, fast)
	waitCaughtUp(t, pdb, sdb, slow)
	var file string
	var pos int64
	if err := pdb.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	var view map[uint32]replicaViewRow
	waitFor(t, replicationTimeout, "both replicas' ACKs of the last position", func() bool {
		view = replicaView(t, pdb)
		for _, id := range []uint32{2, 3} {
			r := view[id]
			if r.ackedFile.String != file || r.ackedPos.Int64 != pos || r.unackedEvents.Int64 != 0 {
				return false
			}
		}
		return len(view) == 2
	})
	for id, srv := range map[uint32]*Server{2: fast, 3: slow} {
		r := view[id]
		if r.semiSync != "YES" || r.connected != "YES" || !r.host.Valid || r.port.Int64 != int64(serverPort(t, srv)) ||
			!r.unackedBy.Valid || r.unackedBy.Int64 != 0 || !r.lastAck.Valid || !r.p50.Valid || !r.p99.Valid || r.p99.Int64 < r.p50.Int64 ||
			r.reconnects != 0 {
			t.Errorf("replica %d: %+v (its port %d)", id, r, serverPort(t, srv))
		}
	}
	if p50 := view[3].p50.Int64; p50 < delay.Microseconds() {
		t.Errorf("the delayed replica's ACK latency p50 is %d us, below the %v the proxy holds each ACK", p50, delay)
	}

	// The delayed replica's link is cut: it reconnects by itself.
	proxy.cut()
	mustExec(t, pdb, "INSERT INTO rv.t VALUES (100)")
	waitFor(t, replicationTimeout, "the delayed replica reconnected", func() bool {
		view = replicaView(t, pdb)
		return view[3].reconnects == 1 && view[3].connected == "YES"
	})
	waitCaughtUp(t, pdb, sdb, slow)
	if view = replicaView(t, pdb); view[2].reconnects != 0 {
		t.Errorf("the direct replica shows %d reconnects", view[2].reconnects)
	}
	t.Logf("view: %s", strconv.Quote(fmt.Sprintf("%+v", view)))
}
