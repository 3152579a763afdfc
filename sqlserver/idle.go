package sqlserver

// wait_timeout / interactive_timeout, as MySQL 8.0 enforces them: a session that sends no
// command for wait_timeout seconds (its session value; a client that connects with
// CLIENT_INTERACTIVE starts with interactive_timeout as its wait_timeout) is sent
// ER_CLIENT_INTERACTION_TIMEOUT (4031) and closed; its next command fails.
//
// The timer lives in the connection shim, apart from vitess's own read deadlines (which it sets
// through the shim): it is armed when vitess asks for the next command's header and nothing of
// it has arrived, and disarmed as soon as the header's bytes are read. While a statement runs,
// GMS's client-activity watcher also reads through the shim (vitess's WaitForClientActivity):
// the handler marks those commands as running (beginCommand/endCommand) and the timer is not
// armed for such reads. It is not armed during
// authentication (connect_timeout applies) or while a binlog dump owns the connection (a replica
// streams and sends ACKs as it pleases). Over TLS it works alike: the shim terminates TLS itself
// and sees the commands.

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// erClientInteractionTimeout is ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8.0.24+).
const erClientInteractionTimeout = 4031

// clientInteractionTimeoutText is its text.
const clientInteractionTimeoutText = "The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior."

// capClientInteractive is CLIENT_INTERACTIVE in a handshake response's capability flags.
const capClientInteractive = 0x400

// Idle timer states.
const (
	idleOff     int32 = iota // a command is being read or run
	idleArmed                // waiting for the next command; the timer runs
	idleExpired              // the timer fired: the connection is being closed
)

// idleTimer is a connection's wait_timeout timer. Its methods are called on the connection's
// reading goroutine, except expire, which runs on the timer's goroutine; state arbitrates
// between the two.
type idleTimer struct {
	timeout atomic.Pointer[func() time.Duration] // the session's wait_timeout; nil: not enforced
	state   atomic.Int32
	timer   *time.Timer  // reading goroutine only
	running atomic.Int32 // commands the handler is executing (see beginCommand)
}

// beginCommand marks a command of c as executing until endCommand: reads meanwhile are GMS's
// watcher's, not the command loop's, and arm no timer. Use: defer endCommand(beginCommand(c)).
func beginCommand(c *mysql.Conn) *shimConn {
	sc := shimOf(c)
	if sc != nil {
		sc.idle.running.Add(1)
	}
	return sc
}

// endCommand ends what beginCommand began; sc may be nil.
func endCommand(sc *shimConn) {
	if sc != nil {
		sc.idle.running.Add(-1)
	}
}

// startIdle begins enforcing wait_timeout on c, whose session's value timeout returns; called
// once the client is authenticated.
func (c *shimConn) startIdle(timeout func() time.Duration) {
	c.idle.timeout.Store(&timeout)
}

// armIdle starts the wait_timeout timer before the shim blocks for the next command's header.
func (c *shimConn) armIdle() {
	tp := c.idle.timeout.Load()
	if tp == nil || c.inChain || c.dumping.Load() || c.idle.running.Load() > 0 {
		return
	}
	d := (*tp)()
	if d <= 0 {
		return
	}
	c.idle.state.Store(idleArmed)
	if c.idle.timer == nil {
		c.idle.timer = time.AfterFunc(d, c.expireIdle)
	} else {
		c.idle.timer.Reset(d)
	}
}

// disarmIdle stops the timer once a header arrived; false means it already fired and the
// connection is closed.
func (c *shimConn) disarmIdle() bool {
	if c.idle.state.CompareAndSwap(idleArmed, idleOff) {
		c.idle.timer.Stop()
		return true
	}
	return c.idle.state.Load() != idleExpired
}

// expireIdle runs when the timer fires: unless a command's header arrived first, it sends
// 4031 (sequence 0: the client reads it as the answer to its next command) and closes the
// socket, which ends vitess's read and the connection.
func (c *shimConn) expireIdle() {
	if !c.idle.state.CompareAndSwap(idleArmed, idleExpired) {
		return
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.writeError(0, mysql.NewSQLError(erClientInteractionTimeout, stateGeneral, clientInteractionTimeoutText))
	_ = c.Conn.Close()
}

// waitTimeout returns a function reading the session wait_timeout of connection id (the global
// value when it has no session). Call it after authentication, when the session exists; the
// function runs on the connection's reading goroutine, which is the session's.
func (h *handler) waitTimeout(id uint32) func() time.Duration {
	s, ok := h.sessions.Load(id)
	if !ok {
		return func() time.Duration { return time.Duration(globalInt("wait_timeout", 28800)) * time.Second }
	}
	sess := s.(sql.Session)
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	return func() time.Duration {
		if v, err := sess.GetSessionVariable(ctx, "wait_timeout"); err == nil {
			if n, ok := toInt64(v); ok {
				return time.Duration(n) * time.Second
			}
		}
		return time.Duration(globalInt("wait_timeout", 28800)) * time.Second
	}
}

// initInteractiveTimeout sets the session wait_timeout of a client that connected with
// CLIENT_INTERACTIVE to the global interactive_timeout, as MySQL does.
func initInteractiveTimeout(sess sql.Session, interactive bool) error {
	if !interactive {
		return nil
	}
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	return sess.SetSessionVariable(ctx, "wait_timeout", globalInt("interactive_timeout", 28800))
}
