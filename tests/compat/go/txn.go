package main

// The transaction roles (`compat-driver CLIENT txn-*`, the contract in tests/compat/SCENARIOS.md,
// "Transaction roles"): each does what its scenario asks and prints one JSON line per event on
// stdout (emit); harness/txn_checks.py decides whether what it reports is right. The data below
// is the Go copy of txn_checks.py's (keep the two equal).

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
)

type txnStep struct {
	event  string
	values []string
}

var (
	visScript = []txnStep{
		{"txn-committed", txnValues("c", 5)},
		{"plain-sent", txnValues("n", 3)},
		{"txn-aborted", txnValues("a", 5)},
		{"txn-committed", txnValues("d", 3)},
	}
	zombieValues   = []string{"zombie-1", "zombie-2"}
	survivorValues = []string{"survivor"}
)

func init() {
	roles := map[string]map[string]scenario{
		"franz-go": {
			"txn-visibility":                franzTxnVisibility,
			"txn-zombie":                    franzTxnZombie,
			"txn-consume-transform-produce": franzTxnConsumeTransformProduce,
		},
		"sarama": {
			"txn-visibility":                saramaTxnVisibility,
			"txn-zombie":                    saramaTxnZombie,
			"txn-consume-transform-produce": saramaTxnConsumeTransformProduce,
		},
	}
	for client, byName := range roles {
		for name, role := range byName {
			clients[client][name] = withStopped(role)
		}
	}
}

// withStopped prints the role's last event, `stopped`, when it returns without an error.
func withStopped(role scenario) scenario {
	return func(c *scenarioCtx) error {
		if err := role(c); err != nil {
			emit("error", map[string]any{"message": err.Error()})
			return err
		}
		emit("stopped", nil)
		return nil
	}
}

func txnValues(prefix string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// visCounts is how many records each isolation level must read back.
func visCounts() (committed, all int) {
	for _, step := range visScript {
		all += len(step.values)
		if step.event != "txn-aborted" {
			committed += len(step.values)
		}
	}
	return committed, all
}

// ctpEnv is what txn-consume-transform-produce is told beyond the common environment.
type ctpEnv struct {
	input, output, group, transactionalID string
	maxPollRecords, recordDelayMs         int
	sessionTimeoutMs                      int
}

func ctpEnvFromOS() (ctpEnv, error) {
	e := ctpEnv{
		input:           os.Getenv("INPUT_TOPIC"),
		output:          os.Getenv("OUTPUT_TOPIC"),
		group:           os.Getenv("GROUP"),
		transactionalID: os.Getenv("TRANSACTIONAL_ID"),
	}
	if e.input == "" || e.output == "" || e.group == "" || e.transactionalID == "" {
		return e, fmt.Errorf("INPUT_TOPIC, OUTPUT_TOPIC, GROUP and TRANSACTIONAL_ID must be set")
	}
	var err error
	for name, dst := range map[string]*int{
		"MAX_POLL_RECORDS": &e.maxPollRecords, "RECORD_DELAY_MS": &e.recordDelayMs, "SESSION_TIMEOUT_MS": &e.sessionTimeoutMs,
	} {
		defaults := map[string]int{"MAX_POLL_RECORDS": 20, "RECORD_DELAY_MS": 10, "SESSION_TIMEOUT_MS": 6000}
		*dst = defaults[name]
		if v := os.Getenv(name); v != "" {
			if *dst, err = strconv.Atoi(v); err != nil {
				return e, fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	}
	return e, nil
}

// untilStdinEnds returns a context that ends with stdin (how the harness stops a long role) or
// with the parent.
func untilStdinEnds(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx, cancel
}
