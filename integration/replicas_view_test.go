package integration

import (
	"database/sql"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/semisynctest"
)

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
// what two semi-sync replicas did, one of them behind a link that the
// semisynctest kit's proxy delays by 150 ms each way. With
// wait_for_replica_count = 2 each commit returns once both acknowledged it
// (a replica is asked for an ACK only while no quorum has acknowledged the
// transaction, MySQL's updateSyncHeader rule), so afterwards both are at
// the primary's last position with nothing un-ACKed; the rows have their
// ports, the delayed one's ACK latency is at least the delay, and it shows
// one reconnect after its link is cut and restored.
func TestReplicasView(t *testing.T) {
	const delay = 150 * time.Millisecond
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: time.Minute, WaitForReplicaCount: 2})
	pdb := openDB(t, c.Primary.DSN(""))
	fast, slow := c.Replicas[0], c.Replicas[1] // server_id 2 and 3
	slow.Delay(delay)

	yes := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx")
	mustExec(t, pdb, "CREATE DATABASE rv")
	mustExec(t, pdb, "CREATE TABLE rv.t (id INT PRIMARY KEY)")
	for i := 0; i < 5; i++ {
		mustExec(t, pdb, "INSERT INTO rv.t VALUES (?)", i)
	}
	if got := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx"); got != yes+7 || globalStatus(t, pdb, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatalf("yes_tx %d (want %d), status %s", got, yes+7, globalStatus(t, pdb, "Rpl_semi_sync_source_status"))
	}
	c.WaitReplicated(t)
	var file string
	var pos int64
	if err := pdb.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	var view map[uint32]replicaViewRow
	deadline := time.Now().Add(replicationTimeout)
	for {
		view = replicaView(t, pdb)
		done := len(view) == 2
		for _, id := range []uint32{2, 3} {
			if r := view[id]; r.ackedFile.String != file || r.ackedPos.Int64 != pos || r.unackedEvents.Int64 != 0 {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ACK of %s:%d from both replicas after %v: %+v", file, pos, replicationTimeout, view)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for id, srv := range map[uint32]*semisynctest.Server{2: fast, 3: slow} {
		r := view[id]
		_, port, _ := net.SplitHostPort(srv.Addr())
		if r.semiSync != "YES" || r.connected != "YES" || r.host.String != "127.0.0.1" || strconv.FormatInt(r.port.Int64, 10) != port ||
			!r.unackedBy.Valid || r.unackedBy.Int64 != 0 || !r.lastAck.Valid || !r.p50.Valid || !r.p99.Valid || r.p99.Int64 < r.p50.Int64 ||
			r.reconnects != 0 {
			t.Errorf("replica %d: %+v (its port %s)", id, r, port)
		}
	}
	if p50 := view[3].p50.Int64; p50 < delay.Microseconds() {
		t.Errorf("the delayed replica's ACK latency p50 is %d us, below the %v its link adds", p50, delay)
	}

	// The delayed replica's link is cut and restored: it reconnects by itself.
	slow.Cut()
	waitFor(t, replicationTimeout, "the cut replica's dump ended", func() bool { return replicaView(t, pdb)[3].connected == "NO" })
	slow.Restore()
	mustExec(t, pdb, "INSERT INTO rv.t VALUES (100)")
	waitFor(t, replicationTimeout, "the delayed replica reconnected", func() bool {
		view = replicaView(t, pdb)
		return view[3].reconnects == 1 && view[3].connected == "YES"
	})
	c.WaitReplicated(t)
	if view = replicaView(t, pdb); view[2].reconnects != 0 {
		t.Errorf("the direct replica shows %d reconnects", view[2].reconnects)
	}
}
