package semisync

import (
	"context"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
)

func p(n uint64) binlog.Position { return binlog.Position{File: "binlog.000001", Pos: n} }

func enabledSource(t *testing.T, timeout time.Duration) *Source {
	s := NewSource(nil)
	s.SetActive(true)
	s.SetTimeout(timeout)
	s.SetEnabled(true)
	s.DumpStarted(2, true, p(4))
	if !s.Status() || s.Counters().Clients != 1 {
		t.Fatalf("status %v clients %d after enable and one replica", s.Status(), s.Counters().Clients)
	}
	return s
}

// commitAsync runs the pipeline's waits for one commit in a goroutine.
func commitAsync(ctx context.Context, s *Source, end binlog.Position) <-chan Outcome {
	s.Appended(end)
	done := make(chan Outcome, 1)
	go func() {
		if WaitPoint(s.waitPoint.Load()) == AfterSync {
			done <- s.wait(ctx, end)
		} else {
			s.AfterSync(ctx, end)
			done <- s.wait(ctx, end)
		}
	}()
	return done
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCommitWaitsForAck(t *testing.T) {
	s := enabledSource(t, time.Minute)
	done := commitAsync(context.Background(), s, p(100))
	waitUntil(t, "one waiting session", func() bool { return s.Counters().WaitSessions == 1 })
	select {
	case o := <-done:
		t.Fatalf("commit returned %v before any ACK", o)
	case <-time.After(20 * time.Millisecond):
	}
	if !s.WantAck(2, p(100), true) {
		t.Fatal("the transaction's last event is not flagged")
	}
	s.Acked(2, p(100))
	if o := <-done; o != Yes {
		t.Fatalf("outcome %v, want yes", o)
	}
	c := s.Counters()
	if c.YesTx != 1 || c.TxWaits != 1 || c.WaitSessions != 0 || !s.Status() {
		t.Fatalf("counters %+v status %v", c, s.Status())
	}
}

func TestGroupOfCommitsOneAck(t *testing.T) {
	s := enabledSource(t, time.Minute)
	var dones []<-chan Outcome
	for i := uint64(1); i <= 20; i++ {
		dones = append(dones, commitAsync(context.Background(), s, p(100*i)))
	}
	waitUntil(t, "20 waiting sessions", func() bool { return s.Counters().WaitSessions == 20 })
	s.Acked(2, p(2000))
	for _, d := range dones {
		if o := <-d; o != Yes {
			t.Fatalf("outcome %v", o)
		}
	}
	if c := s.Counters(); c.YesTx != 20 || c.TxWaits != 20 {
		t.Fatalf("counters %+v", c)
	}
}

func TestTimeoutSwitchesOff(t *testing.T) {
	const timeout = 100 * time.Millisecond
	s := enabledSource(t, timeout)
	start := time.Now()
	done := commitAsync(context.Background(), s, p(100))
	if o := <-done; o != No {
		t.Fatalf("outcome %v, want no", o)
	}
	if waited := time.Since(start); waited < timeout {
		t.Fatalf("returned after %v, before the %v timeout", waited, timeout)
	}
	c := s.Counters()
	if s.Status() || c.NoTx != 1 || c.NoTimes != 1 || c.YesTx != 0 {
		t.Fatalf("after timeout: status %v counters %+v", s.Status(), c)
	}
	// The next commit does not wait.
	if o := <-commitAsync(context.Background(), s, p(200)); o != No {
		t.Fatalf("commit while OFF: %v", o)
	}
	// The replica catches up: ON again without new writes.
	s.Acked(2, p(200))
	if !s.Status() {
		t.Fatal("status still OFF after the replica acknowledged everything")
	}
}

func TestKillEndsWait(t *testing.T) {
	s := enabledSource(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := commitAsync(ctx, s, p(100))
	waitUntil(t, "one waiting session", func() bool { return s.Counters().WaitSessions == 1 })
	cancel()
	if o := <-done; o != No {
		t.Fatalf("killed wait: %v", o)
	}
	if !s.Status() {
		t.Fatal("a killed wait switched semi-sync off")
	}
}

func TestDisableAndShutdownRelease(t *testing.T) {
	s := enabledSource(t, time.Minute)
	done := commitAsync(context.Background(), s, p(100))
	waitUntil(t, "waiting", func() bool { return s.Counters().WaitSessions == 1 })
	s.SetEnabled(false)
	if o := <-done; o != No {
		t.Fatalf("disable: %v", o)
	}
	s.SetEnabled(true)
	done = commitAsync(context.Background(), s, p(200))
	waitUntil(t, "waiting", func() bool { return s.Counters().WaitSessions == 1 })
	s.Shutdown()
	if o := <-done; o != No {
		t.Fatalf("shutdown: %v", o)
	}
}

func TestWaitPoints(t *testing.T) {
	s := enabledSource(t, time.Minute)
	s.SetWaitPoint(AfterCommit)
	s.Appended(p(100))
	// AFTER_COMMIT: the AFTER_SYNC hook returns at once.
	ret := make(chan struct{})
	go func() { s.AfterSync(context.Background(), p(100)); close(ret) }()
	select {
	case <-ret:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterSync waited with wait_point AFTER_COMMIT")
	}
	got := make(chan struct{})
	go func() { s.AfterCommit(context.Background(), p(100)); close(got) }()
	waitUntil(t, "waiting after commit", func() bool { return s.Counters().WaitSessions == 1 })
	s.Acked(2, p(100))
	<-got
	if c := s.Counters(); c.YesTx != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestInactiveNeverWaits(t *testing.T) {
	s := NewSource(nil)
	s.SetEnabled(true)
	s.Appended(p(100))
	if o := s.wait(context.Background(), p(100)); o != Skipped {
		t.Fatalf("uninstalled plugin: %v", o)
	}
	if s.WantAck(2, p(100), true) {
		t.Fatal("uninstalled plugin flags events")
	}
}
