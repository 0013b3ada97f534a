package main

import (
	"context"
	"errors"
	"time"
)

func contextWithTimeout(c *scenarioCtx, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c, d)
}

// eventually polls `done` every 100 ms for up to 10 s: for admin changes that the broker applies
// after it has answered (new partitions, deleted topics).
func eventually(c *scenarioCtx, done func() (bool, error)) error {
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := done()
		if ok && err == nil {
			return nil
		}
		last = err
		select {
		case <-c.Done():
			return c.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if last != nil {
		return last
	}
	return errors.New("still not done after 10 s")
}
