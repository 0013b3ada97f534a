package main

// The transaction roles with franz-go: a transactional kgo.Client (BeginTransaction,
// EndTransaction) and, for consume-transform-produce, kgo.GroupTransactSession, franz-go's
// exactly-once helper (offsets committed inside the transaction, aborts on a rebalance).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func franzTxnRecords(topic string, values []string) []*kgo.Record {
	out := make([]*kgo.Record, len(values))
	for i, v := range values {
		out[i] = &kgo.Record{Topic: topic, Partition: 0, Value: []byte(v)}
	}
	return out
}

func franzTxnClient(c *scenarioCtx, transactionalID string) (*kgo.Client, error) {
	return franzClient(c, kgo.TransactionalID(transactionalID), kgo.RecordPartitioner(kgo.ManualPartitioner()))
}

// franzInTxn produces the values in one transaction, acknowledged before it ends (so aborted
// records are in the log), and commits or aborts it.
func franzInTxn(c *scenarioCtx, cl *kgo.Client, values []string, commit kgo.TransactionEndTry) error {
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	if err := cl.ProduceSync(c, franzTxnRecords(c.topic, values)...).FirstErr(); err != nil {
		return err
	}
	return cl.EndTransaction(c, commit)
}

func franzTxnVisibility(c *scenarioCtx) error {
	cl, err := franzTxnClient(c, "vis-"+c.runID)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, step := range visScript {
		switch step.event {
		case "plain-sent":
			// franz-go's producers are idempotent by default.
			err = franzProduce(c, franzTxnRecords(c.topic, step.values), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		case "txn-committed":
			err = franzInTxn(c, cl, step.values, kgo.TryCommit)
		default:
			err = franzInTxn(c, cl, step.values, kgo.TryAbort)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", step.event, err)
		}
		emit(step.event, map[string]any{"values": step.values})
	}
	committed, all := visCounts()
	for _, read := range []struct {
		isolation string
		level     kgo.IsolationLevel
		count     int
	}{{"read_committed", kgo.ReadCommitted(), committed}, {"read_uncommitted", kgo.ReadUncommitted(), all}} {
		records, err := franzRead(c, []int32{0}, read.count, kgo.FetchIsolationLevel(read.level))
		if err != nil {
			return fmt.Errorf("%s: %w", read.isolation, err)
		}
		values := make([]string, len(records))
		for i, r := range records {
			values[i] = string(r.Value)
		}
		emit("read", map[string]any{"isolation": read.isolation, "values": values})
	}
	adm := kadm.NewClient(cl)
	// kadm: ListEndOffsets asks read_uncommitted, ListCommittedOffsets read_committed.
	for isolation, list := range map[string]func(context.Context, ...string) (kadm.ListedOffsets, error){
		"read_uncommitted": adm.ListEndOffsets, "read_committed": adm.ListCommittedOffsets,
	} {
		listed, err := list(c, c.topic)
		if err == nil {
			err = listed.Error()
		}
		if err != nil {
			return fmt.Errorf("end offsets %s: %w", isolation, err)
		}
		o, _ := listed.Lookup(c.topic, 0)
		emit("end_offset", map[string]any{"isolation": isolation, "offset": o.Offset})
	}
	return nil
}

func franzTxnZombie(c *scenarioCtx) error {
	tid := "zombie-" + c.runID
	first, err := franzTxnClient(c, tid)
	if err != nil {
		return err
	}
	defer first.Close()
	if err := first.BeginTransaction(); err != nil {
		return err
	}
	if err := first.ProduceSync(c, franzTxnRecords(c.topic, zombieValues[:1])...).FirstErr(); err != nil {
		return err
	}
	second, err := franzTxnClient(c, tid)
	if err != nil {
		return err
	}
	defer second.Close()
	// ProducerID runs InitProducerId now (franz-go would otherwise wait for the first produce).
	if _, _, err := second.ProducerID(c); err != nil {
		return fmt.Errorf("second producer init: %w", err)
	}
	emit("initialized", map[string]any{"producer": 2})
	err = first.ProduceSync(c, franzTxnRecords(c.topic, zombieValues[1:])...).FirstErr()
	if err == nil {
		err = first.EndTransaction(c, kgo.TryCommit)
	}
	if err != nil {
		emit("fenced", map[string]any{"error": err.Error()})
	} else {
		emit("not-fenced", nil)
	}
	if err := franzInTxn(c, second, survivorValues, kgo.TryCommit); err != nil {
		return fmt.Errorf("second producer: %w", err)
	}
	emit("txn-committed", map[string]any{"values": survivorValues})
	return nil
}

func franzTxnConsumeTransformProduce(c *scenarioCtx) error {
	env, err := ctpEnvFromOS()
	if err != nil {
		return err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.bootstrap),
		kgo.ClientID("compat-franz-go-" + c.runID),
		kgo.TransactionalID(env.transactionalID),
		kgo.ConsumerGroup(env.group),
		kgo.ConsumeTopics(env.input),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(time.Duration(env.sessionTimeoutMs) * time.Millisecond),
		kgo.HeartbeatInterval(time.Second),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	defer sess.Close()
	// Past the driver's own deadline: the harness ends this role by closing stdin.
	ctx, cancel := untilStdinEnds(context.Background())
	defer cancel()
	for ctx.Err() == nil {
		fetches := sess.PollRecords(ctx, env.maxPollRecords)
		if fetches.IsClientClosed() {
			return errors.New("client closed while polling")
		}
		records := fetches.Records()
		if len(records) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return err
		}
		values := make([]string, 0, len(records))
		for _, r := range records {
			out := &kgo.Record{Topic: env.output, Partition: r.Partition, Key: r.Key, Value: append([]byte("out-"), r.Value...)}
			sess.Produce(context.Background(), out, func(_ *kgo.Record, err error) {
				if err != nil {
					emit("log", map[string]any{"line": "produce: " + err.Error()})
				}
			})
			values = append(values, string(r.Value))
			emit("sent", map[string]any{"value": string(r.Value)})
			time.Sleep(time.Duration(env.recordDelayMs) * time.Millisecond)
		}
		// End flushes, commits the polled offsets in the transaction and ends it; it aborts
		// instead (committed false) when a rebalance or a failed produce made that necessary.
		committed, err := sess.End(context.Background(), kgo.TryCommit)
		if err != nil {
			return fmt.Errorf("end transaction: %w", err)
		}
		if committed {
			emit("txn-committed", map[string]any{"values": values})
		} else {
			emit("log", map[string]any{"line": fmt.Sprintf("transaction of %d records aborted", len(values))})
		}
	}
	return nil
}
