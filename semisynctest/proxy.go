package semisynctest

import (
	"net"
	"sync"
	"time"
)

// proxy is the TCP relay on a replica's replication link: the replica's IO thread connects to
// it, and it connects on to the current primary. It is how the kit slows or cuts a link.
//
//   - delay adds a latency to every chunk of bytes in each direction (events to the replica,
//     ACKs back), without limiting throughput: chunks are stamped when read and written when
//     their time comes, in order.
//   - cut closes every relayed connection and closes new ones at once, so the IO thread sees
//     the source go away and retries (SOURCE_CONNECT_RETRY) until restore.
//
// One goroutine accepts; each relayed connection has a reader and a writer goroutine per
// direction. mu guards target, delay, cut, conns and wake.
type proxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string // host:port of the primary
	delay  time.Duration
	cut    bool
	conns  map[net.Conn]struct{}
	wake   chan struct{} // closed and replaced when delay changes
	closed bool
	done   sync.WaitGroup
}

// chunkQueue bounds how many chunks a delayed direction holds before its reader waits.
const chunkQueue = 4096

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, wake: make(chan struct{})}
	p.done.Add(1)
	go p.accept()
	return p, nil
}

// port is the proxy's listening port on 127.0.0.1.
func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) accept() {
	defer p.done.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut, target := p.cut || p.closed, p.target
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			c.Close()
			up.Close()
			continue
		}
		p.done.Add(2)
		go p.relay(c, up)
		go p.relay(up, c)
	}
}

// track records a relayed pair; false when the link was cut or closed meanwhile.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

type chunk struct {
	at   time.Time
	data []byte
}

// relay copies from src to dst, each chunk no earlier than its read time plus the delay. When
// either side ends, both connections are closed.
func (p *proxy) relay(src, dst net.Conn) {
	defer p.done.Done()
	q := make(chan chunk, chunkQueue)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32*1024)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{at: time.Now(), data: buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	defer p.closePair(src, dst)
	for c := range q {
		for {
			p.mu.Lock()
			due, wake := c.at.Add(p.delay), p.wake
			p.mu.Unlock()
			wait := time.Until(due)
			if wait <= 0 {
				break
			}
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-wake:
				timer.Stop()
			}
		}
		if _, err := dst.Write(c.data); err != nil {
			src.Close()
			for range q { // let the reader finish
			}
			return
		}
	}
}

func (p *proxy) closePair(a, b net.Conn) {
	a.Close()
	b.Close()
	p.mu.Lock()
	delete(p.conns, a)
	delete(p.conns, b)
	p.mu.Unlock()
}

// setTarget points new connections at addr; relayed ones are left alone.
func (p *proxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// setDelay sets the one-way latency of both directions.
func (p *proxy) setDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
	close(p.wake)
	p.wake = make(chan struct{})
}

// setCut cuts the link (closing every relayed connection) or restores it.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	p.cut = cut
	var open []net.Conn
	if cut {
		for c := range p.conns {
			open = append(open, c)
		}
	}
	p.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// close stops the proxy and every relayed connection, and waits for its goroutines.
func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.setCut(true)
	p.done.Wait()
}
