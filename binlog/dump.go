package binlog

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

// Semi-sync packet header bytes.
const (
	SemiSyncMagic    byte = 0xEF
	SemiSyncFlagSync byte = 0x01
)

// DumpRequest is a replica's dump command and session settings.
type DumpRequest struct {
	ServerID uint32
	// File and Pos: where a file/position dump starts. An empty File
	// means the first binlog file.
	File string
	Pos  uint64
	// GTIDs, when set, makes this a GTID dump: transactions in the set are
	// skipped, the stream starts at the first file.
	GTIDs *GTIDSet
	// SemiSync: the replica set @rpl_semi_sync_replica/@rpl_semi_sync_slave.
	SemiSync bool
	// ReplicaChecksum: the replica announced @master_binlog_checksum CRC32;
	// events the dump makes up then carry a CRC too.
	ReplicaChecksum bool
	// Heartbeat is @master_heartbeat_period; 0 sends none.
	Heartbeat time.Duration
	// OnState, when set, is told the dump thread's state in MySQL's words
	// (DumpState*) each time it changes, for the process list.
	OnState func(state string)
}

// The dump thread states MySQL 8.0 shows in the process list.
const (
	DumpStateSending  = "Sending binlog event to replica"
	DumpStateWaiting  = "Source has sent all binlog to replica; waiting for more updates"
	DumpStateNextFile = "Finished reading one binlog; switching to next binlog"
)

// DumpHooks let the semi-sync source plugin follow a dump: which events
// request an ACK, and the ACKs that come back. All may be called from the
// dump's goroutines concurrently.
type DumpHooks interface {
	// DumpStarted runs before the first event; start is where the replica
	// asked to begin (semi-sync treats it as already acknowledged).
	DumpStarted(serverID uint32, semiSync bool, start Position)
	// DumpEnded runs when the dump stops for any reason.
	DumpEnded(serverID uint32, semiSync bool)
	// WantAck reports whether the event ending at end should carry the
	// ACK-requested flag; txEnd says it is the last event of a transaction
	// and of the batch being sent (an earlier transaction's end in the same
	// batch is offered with txEnd false: the batch's last ACK covers it).
	WantAck(serverID uint32, end Position, txEnd bool) bool
	// Acked delivers a well-formed ACK.
	Acked(serverID uint32, pos Position)
	// Flagged runs after a flagged event was sent and flushed.
	Flagged(serverID uint32)
}

// DumpError is a dump failure with MySQL's code (1236 for bad positions).
type DumpError struct {
	Code    int
	Message string
}

func (e *DumpError) Error() string { return e.Message }

func errDump(format string, args ...interface{}) *DumpError {
	return &DumpError{Code: 1236, Message: fmt.Sprintf(format, args...)}
}

// dumper streams one dump connection.
type dumper struct {
	w     *Writer
	conn  net.Conn
	bw    *bufio.Writer
	req   DumpRequest
	hooks DumpHooks
	log   *logrus.Entry
	seq   uint8
	wrote bool

	file string
	fr   *FileReader
	// inSkipped: the current transaction is in the replica's GTID set.
	inSkipped bool
	// bound follows where transactions end (the one rule, TxBoundary).
	bound TxBoundary
	// batch: events read but not yet sent (see sendAvailable).
	batch      []queued
	batchBytes int
	state      string // the last state told to req.OnState
}

// setState tells req.OnState a new state.
func (d *dumper) setState(st string) {
	if d.req.OnState != nil && st != d.state {
		d.state = st
		d.req.OnState(st)
	}
}

// Dump streams the binlog to a replica on conn, which the caller hands
// over entirely: Dump writes every packet itself (the semi-sync header,
// sequence ids reset after each ACK-requested event) and reads the
// replica's ACKs on its own goroutine. It returns when the replica goes,
// ctx ends or the writer closes. An error returned before anything was
// written (bad position: *DumpError code 1236) is for the caller to send;
// after that Dump reports errors to the replica itself and returns nil.
func (w *Writer) Dump(ctx context.Context, conn net.Conn, req DumpRequest, hooks DumpHooks) error {
	d := &dumper{w: w, conn: conn, bw: bufio.NewWriterSize(conn, 64<<10), req: req, hooks: hooks, seq: 1,
		log: w.log.WithFields(logrus.Fields{"replica_server_id": req.ServerID, "semi_sync": req.SemiSync})}
	if err := d.resolveStart(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if hooks != nil {
		hooks.DumpStarted(req.ServerID, req.SemiSync, Position{d.file, req.Pos})
		defer hooks.DumpEnded(req.ServerID, req.SemiSync)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.readReplies(ctx, cancel)
	}()
	err := d.stream(ctx)
	cancel()
	if err != nil && !d.wrote {
		// Nothing sent yet: the caller reports it with its own sequence.
		_ = conn.SetReadDeadline(time.Now())
		wg.Wait()
		_ = conn.SetReadDeadline(time.Time{})
		if d.fr != nil {
			d.fr.Close()
		}
		return err
	}
	// Unblock the reply reader: it owns no deadline of its own.
	_ = conn.SetReadDeadline(time.Now())
	wg.Wait()
	_ = conn.SetReadDeadline(time.Time{})
	if d.fr != nil {
		d.fr.Close()
	}
	if err != nil && !errors.Is(err, context.Canceled) && !isNetClosed(err) {
		d.log.WithError(err).Warn("binlog dump ended")
		var de *DumpError
		if errors.As(err, &de) {
			d.writeErr(de.Code, "HY000", de.Message)
		} else {
			d.writeErr(1236, "HY000", err.Error())
		}
		// The connection is in no state for further commands.
		_ = conn.Close()
	}
	return nil
}

func isNetClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset")
}

// resolveStart checks the requested position (MySQL's 1236 errors).
func (d *dumper) resolveStart() error {
	if d.req.GTIDs != nil {
		purged := NewGTIDSet()
		d.w.mu.Lock()
		purged.Union(d.w.purged)
		d.w.mu.Unlock()
		if !d.req.GTIDs.ContainsSet(purged) {
			return errDump("Cannot replicate because the source purged required binary logs. Replicate the missing transactions from elsewhere, or provision a new replica from backup. Consider increasing the source's binary log expiration period. The GTID set sent by the replica is '%s', and the missing transactions are '%s'", d.req.GTIDs, purged)
		}
		d.file, d.req.Pos = d.w.FirstFile(), FileHeaderLen
		return nil
	}
	if d.req.File == "" {
		d.file = d.w.FirstFile()
		if d.req.Pos < FileHeaderLen {
			d.req.Pos = FileHeaderLen
		}
	} else {
		d.file = d.req.File
	}
	if !d.w.HasFile(d.file) {
		return errDump("Could not find first log file name in binary log index file")
	}
	if d.req.Pos < FileHeaderLen {
		return errDump("Client requested source to start replication from position < 4.")
	}
	return nil
}

// stream sends events until ctx ends.
func (d *dumper) stream(ctx context.Context) error {
	if err := d.openFile(d.file, d.req.Pos, true); err != nil {
		return err
	}
	var heartbeat <-chan time.Time
	var ticker *time.Ticker
	if d.req.Heartbeat > 0 {
		ticker = time.NewTicker(d.req.Heartbeat)
		defer ticker.Stop()
		heartbeat = ticker.C
	}
	for {
		readable, changed := d.w.Readable()
		sent, err := d.sendAvailable(readable)
		if err != nil {
			return err
		}
		if sent && ticker != nil {
			ticker.Reset(d.req.Heartbeat)
		}
		if sent {
			continue
		}
		d.setState(DumpStateWaiting)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-heartbeat:
			if err := d.sendHeartbeat(); err != nil {
				return err
			}
		}
	}
}

// openFile starts reading name: the artificial ROTATE (first file only)
// and the file's FDE are sent, then reading continues at pos.
func (d *dumper) openFile(name string, pos uint64, first bool) error {
	if d.fr != nil {
		d.fr.Close()
	}
	fr, err := OpenFile(d.w.Path(name))
	if err != nil {
		return errDump("Could not open log file")
	}
	d.fr, d.file = fr, name
	if first {
		if err := d.sendFakeRotate(name, pos); err != nil {
			return err
		}
	}
	fde, _, err := fr.Next()
	if err != nil {
		return errDump("Could not read the format description event of %s: %v", name, err)
	}
	fde = append([]byte(nil), fde...)
	if first && pos > FileHeaderLen {
		// Resuming mid-file: a zero log_pos keeps the replica's position.
		SetLogPos(fde, 0, true)
	}
	if err := d.send(fde, false); err != nil {
		return err
	}
	if pos > fr.Pos() {
		if size := d.fileSize(name); pos > size {
			return errDump("Client requested source to start replication from position > file size")
		}
		if err := fr.Seek(pos); err != nil {
			return err
		}
	}
	return nil
}

func (d *dumper) fileSize(name string) uint64 {
	for _, f := range d.w.Files() {
		if f.Name == name {
			return f.Size
		}
	}
	return 0
}

// sendAvailable sends every readable event; it reports whether it sent
// any. Events are sent in batches (everything readable, up to a bound)
// and written through one buffer; on a semi-sync dump each event is asked
// whether it wants an ACK, as MySQL's updateSyncHeader is, and a flagged
// event is flushed at once.
func (d *dumper) sendAvailable(readable Position) (bool, error) {
	sent := false
	for {
		if d.file == readable.File && d.fr.Pos() >= readable.Pos {
			break
		}
		ev, _, err := d.fr.Next()
		if err == io.EOF {
			// A finished file ends with ROTATE; a file still being
			// written just has nothing more yet.
			if d.file == readable.File {
				break
			}
			next := d.w.NextFile(d.file)
			if next == "" {
				break
			}
			if err := d.flushBatch(); err != nil {
				return sent, err
			}
			d.setState(DumpStateNextFile)
			// A file that ends without ROTATE (the server stopped or was
			// killed while it was current): the replica learns the next
			// file's name from an artificial ROTATE, as MySQL's sender
			// sends for every file it opens; otherwise it would go on
			// naming (and ACKing) positions in the old file.
			if err := d.sendFakeRotate(next, FileHeaderLen); err != nil {
				return sent, err
			}
			if err := d.openFile(next, FileHeaderLen, false); err != nil {
				return sent, err
			}
			continue
		}
		if errors.Is(err, ErrTornEvent) {
			break // being appended: wait for more
		}
		if err != nil {
			return sent, err
		}
		h, _ := ParseHeader(ev)
		d.setState(DumpStateSending)
		d.queueEvent(ev, h)
		sent = true
		if h.Type == ROTATE_EVENT {
			rp, err := ParseRotate(d.fr.Body(ev))
			if err != nil {
				return sent, err
			}
			if err := d.flushBatch(); err != nil {
				return sent, err
			}
			d.setState(DumpStateNextFile)
			if err := d.openFile(rp.File, FileHeaderLen, false); err != nil {
				return sent, err
			}
		} else if len(d.batch) >= maxBatchEvents || d.batchBytes >= maxBatchBytes {
			if err := d.flushBatch(); err != nil {
				return sent, err
			}
		}
	}
	if err := d.flushBatch(); err != nil {
		return sent, err
	}
	if sent {
		return true, d.bw.Flush()
	}
	return false, nil
}

// Batch bounds: a batch is sent (and its last eligible event flagged) at
// the readable end, a file switch, or these sizes.
const (
	maxBatchEvents = 4096
	maxBatchBytes  = 4 << 20
)

type queued struct {
	ev    []byte
	end   Position
	txEnd bool
}

// queueEvent applies GTID skipping and classifies one event for the batch.
func (d *dumper) queueEvent(ev []byte, h Header) {
	body := d.fr.Body(ev)
	// A transaction ends where the boundary rule says, at an event that
	// closes one (not at a ROTATE or another unit of its own).
	txEnd := d.bound.Feed(h.Type, body) && (h.Type == XID_EVENT || h.Type == QUERY_EVENT || h.Type == TRANSACTION_PAYLOAD_EVENT)
	switch h.Type {
	case GTID_LOG_EVENT:
		d.inSkipped = false
		if d.req.GTIDs != nil {
			if g, err := ParseGTID(body); err == nil && d.req.GTIDs.Contains(g.SID, g.GNO) {
				d.inSkipped = true
			}
		}
		if !d.inSkipped {
			d.enqueue(ev, h, false)
		}
		return
	}
	if d.inSkipped {
		if txEnd {
			d.inSkipped = false
		}
		return
	}
	d.enqueue(ev, h, txEnd)
}

func (d *dumper) enqueue(ev []byte, h Header, txEnd bool) {
	d.batch = append(d.batch, queued{ev: ev, end: Position{d.file, uint64(h.LogPos)}, txEnd: txEnd})
	d.batchBytes += len(ev)
}

// flushBatch sends the queued events, flagging each one the hooks want an
// ACK for (on a semi-sync dump). Of the transactions a batch ends, only the
// last is offered for an ACK: the replica's ACK of it covers every earlier
// one (ACKs are positions), so a group commit of n transactions costs one
// ACK round trip, not n.
func (d *dumper) flushBatch() error {
	ask := d.req.SemiSync && d.hooks != nil
	lastTx := -1
	for i, q := range d.batch {
		if q.txEnd {
			lastTx = i
		}
	}
	for i, q := range d.batch {
		flag := ask && d.hooks.WantAck(d.req.ServerID, q.end, q.txEnd && i == lastTx)
		if err := d.send(q.ev, flag); err != nil {
			return err
		}
	}
	d.batch = d.batch[:0]
	d.batchBytes = 0
	return nil
}

// send writes one event packet: 0x00, the semi-sync header on a semi-sync
// dump, the event. A flagged packet is flushed at once and the sequence
// restarts so the next packet has id 1.
func (d *dumper) send(ev []byte, flag bool) error {
	payload := make([]byte, 0, len(ev)+3)
	payload = append(payload, 0x00)
	if d.req.SemiSync {
		f := byte(0)
		if flag {
			f = SemiSyncFlagSync
		}
		payload = append(payload, SemiSyncMagic, f)
	}
	payload = append(payload, ev...)
	if err := d.writePacket(payload); err != nil {
		return err
	}
	if flag {
		if err := d.bw.Flush(); err != nil {
			return err
		}
		d.seq = 1
		if d.hooks != nil {
			d.hooks.Flagged(d.req.ServerID)
		}
	}
	return nil
}

// writePacket frames payload as MySQL packets (split at 16 MiB - 1).
func (d *dumper) writePacket(payload []byte) error {
	const max = 1<<24 - 1
	d.wrote = true
	for {
		n := len(payload)
		if n > max {
			n = max
		}
		hdr := [4]byte{byte(n), byte(n >> 8), byte(n >> 16), d.seq}
		d.seq++
		if _, err := d.bw.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := d.bw.Write(payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
		if n < max {
			return nil
		}
	}
}

// made builds an event the dump makes up (not read from a file): a CRC
// only if the replica checks them.
func (d *dumper) made(typ byte, logPos uint32, flags uint16, body []byte) []byte {
	return MakeEvent(0, typ, d.w.cfg.ServerID, logPos, flags, body, d.req.ReplicaChecksum)
}

func (d *dumper) sendFakeRotate(name string, pos uint64) error {
	body := binary.LittleEndian.AppendUint64(nil, pos)
	body = append(body, name...)
	return d.send(d.made(ROTATE_EVENT, 0, LOG_EVENT_ARTIFICIAL_F, body), false)
}

func (d *dumper) sendHeartbeat() error {
	if err := d.send(d.made(HEARTBEAT_LOG_EVENT, uint32(d.fr.Pos()), 0, []byte(d.file)), false); err != nil {
		return err
	}
	return d.bw.Flush()
}

// writeErr sends an ERR packet with the dump's own sequence id.
func (d *dumper) writeErr(code int, state, msg string) {
	p := []byte{0xff, byte(code), byte(code >> 8), '#'}
	p = append(p, state...)
	p = append(p, msg...)
	if err := d.writePacket(p); err == nil {
		_ = d.bw.Flush()
	}
}

// readReplies reads what the replica sends during the dump: ACKs on a
// semi-sync dump (malformed ones are logged and ignored, the connection
// kept), COM_QUIT or EOF ends the dump.
func (d *dumper) readReplies(ctx context.Context, stop func()) {
	r := bufio.NewReaderSize(d.conn, 1024)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if ctx.Err() == nil {
				stop()
			}
			return
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			stop()
			return
		}
		if n == 1 && payload[0] == mysql.ComQuit {
			stop()
			return
		}
		pos, ok, why := ParseAck(payload)
		if !ok {
			d.log.WithField("len", n).Warn(why)
			continue
		}
		if d.req.SemiSync && d.hooks != nil {
			d.hooks.Acked(d.req.ServerID, pos)
		}
	}
}

// ParseAck decodes a semi-sync ACK payload: 0xEF, u64 position, file name
// (trailing NULs tolerated). Otherwise ok is false and why is MySQL's log
// text for the problem.
func ParseAck(p []byte) (pos Position, ok bool, why string) {
	if len(p) == 0 || p[0] != SemiSyncMagic {
		return pos, false, "Read semi-sync reply magic number error"
	}
	if len(p) < 9 {
		return pos, false, "Read semi-sync reply length error"
	}
	name := strings.TrimRight(string(p[9:]), "\x00")
	if len(name) >= 512 {
		return pos, false, "Read semi-sync reply binlog file length too large"
	}
	return Position{File: name, Pos: binary.LittleEndian.Uint64(p[1:9])}, true, ""
}
