package s3lite

import (
	"sync"
	"time"
)

// ticking runs one background job at every tick: the sweep (uploadexpiry.go) and the
// access log roll (accesslog.go).
type ticking struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startTicking calls fn at every tick of ticks, or of a ticker of period every when ticks
// is nil (tests pass their own), until close.
func startTicking(every time.Duration, ticks <-chan time.Time, fn func()) *ticking {
	t := &ticking{stop: make(chan struct{}), done: make(chan struct{})}
	var ticker *time.Ticker
	if ticks == nil {
		ticker = time.NewTicker(every)
		ticks = ticker.C
	}
	go func() {
		defer close(t.done)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-t.stop:
				return
			case <-ticks:
				fn()
			}
		}
	}()
	return t
}

// close stops the ticks and waits for a call of fn under way; later calls only wait.
func (t *ticking) close() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}
