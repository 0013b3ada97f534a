package main

// The transaction roles with sarama: a transactional SyncProducer (BeginTxn, CommitTxn,
// AbortTxn, AddOffsetsToTxnWithGroupMetadata) and read_committed consumers. sarama's
// transactional producer runs InitProducerId when it is created.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

func saramaTxnConfig(c *scenarioCtx, transactionalID string) *sarama.Config {
	cfg := saramaConfig(c)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Transaction.ID = transactionalID
	return cfg
}

func saramaTxnMessages(topic string, values []string) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		out[i] = &sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(v)}
	}
	return out
}

// saramaInTxn sends the values in one transaction (acknowledged before it ends, so aborted
// records are in the log) and commits or aborts it.
func saramaInTxn(p sarama.SyncProducer, topic string, values []string, commit bool) error {
	if err := p.BeginTxn(); err != nil {
		return err
	}
	if err := p.SendMessages(saramaTxnMessages(topic, values)); err != nil {
		return err
	}
	if commit {
		return p.CommitTxn()
	}
	return p.AbortTxn()
}

func saramaTxnVisibility(c *scenarioCtx) error {
	producer, err := sarama.NewSyncProducer([]string{c.bootstrap}, saramaTxnConfig(c, "vis-"+c.runID))
	if err != nil {
		return err
	}
	defer producer.Close()
	plainCfg := saramaTxnConfig(c, "")
	for _, step := range visScript {
		switch step.event {
		case "plain-sent":
			err = saramaSend(c, plainCfg, saramaTxnMessages(c.topic, step.values))
		default:
			err = saramaInTxn(producer, c.topic, step.values, step.event == "txn-committed")
		}
		if err != nil {
			return fmt.Errorf("%s: %w", step.event, err)
		}
		emit(step.event, map[string]any{"values": step.values})
	}
	committed, all := visCounts()
	for _, read := range []struct {
		isolation string
		level     sarama.IsolationLevel
		count     int
	}{{"read_committed", sarama.ReadCommitted, committed}, {"read_uncommitted", sarama.ReadUncommitted, all}} {
		cfg := saramaConfig(c)
		cfg.Consumer.IsolationLevel = read.level
		msgs, err := saramaRead(c, cfg, 0, read.count)
		if err != nil {
			return fmt.Errorf("%s: %w", read.isolation, err)
		}
		values := make([]string, len(msgs))
		for i, m := range msgs {
			values[i] = string(m.Value)
		}
		emit("read", map[string]any{"isolation": read.isolation, "values": values})
		client, err := sarama.NewClient([]string{c.bootstrap}, cfg)
		if err != nil {
			return err
		}
		// GetOffset asks ListOffsets at the configured isolation level.
		end, err := client.GetOffset(c.topic, 0, sarama.OffsetNewest)
		client.Close()
		if err != nil {
			return fmt.Errorf("end offset %s: %w", read.isolation, err)
		}
		emit("end_offset", map[string]any{"isolation": read.isolation, "offset": end})
	}
	return nil
}

func saramaTxnZombie(c *scenarioCtx) error {
	tid := "zombie-" + c.runID
	first, err := sarama.NewSyncProducer([]string{c.bootstrap}, saramaTxnConfig(c, tid))
	if err != nil {
		return err
	}
	defer first.Close()
	if err := first.BeginTxn(); err != nil {
		return err
	}
	if err := first.SendMessages(saramaTxnMessages(c.topic, zombieValues[:1])); err != nil {
		return err
	}
	second, err := sarama.NewSyncProducer([]string{c.bootstrap}, saramaTxnConfig(c, tid))
	if err != nil {
		return fmt.Errorf("second producer init: %w", err)
	}
	defer second.Close()
	emit("initialized", map[string]any{"producer": 2})
	err = first.SendMessages(saramaTxnMessages(c.topic, zombieValues[1:]))
	if err == nil {
		err = first.CommitTxn()
	}
	var perrs sarama.ProducerErrors
	if errors.As(err, &perrs) && len(perrs) > 0 {
		// "Failed to deliver N messages" says nothing; the broker's answer is in each message's.
		err = fmt.Errorf("%w: %w", err, perrs[0].Err)
	}
	if err != nil {
		emit("fenced", map[string]any{"error": err.Error()})
	} else {
		emit("not-fenced", nil)
	}
	if err := saramaInTxn(second, c.topic, survivorValues, true); err != nil {
		return fmt.Errorf("second producer: %w", err)
	}
	emit("txn-committed", map[string]any{"values": survivorValues})
	return nil
}

// saramaTxnHandler transforms each claim's messages, MAX_POLL_RECORDS per transaction, with the
// consumed offsets committed in the transaction. Claims run concurrently and share the one
// producer, whose transactions must not interleave: a mutex makes them take turns.
type saramaTxnHandler struct {
	env      ctpEnv
	producer sarama.SyncProducer
	mu       *sync.Mutex
}

func (h saramaTxnHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h saramaTxnHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h saramaTxnHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		// A batch: what arrives until MAX_POLL_RECORDS or 100 ms without a message.
		var batch []*sarama.ConsumerMessage
	collect:
		for len(batch) < h.env.maxPollRecords {
			select {
			case m, ok := <-claim.Messages():
				if !ok {
					break collect
				}
				batch = append(batch, m)
			case <-time.After(100 * time.Millisecond):
				break collect
			case <-sess.Context().Done():
				return nil
			}
		}
		if len(batch) == 0 {
			if sess.Context().Err() != nil {
				return nil
			}
			continue
		}
		if err := h.transform(sess, batch); err != nil {
			return err
		}
	}
}

func (h saramaTxnHandler) transform(sess sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.producer.BeginTxn(); err != nil {
		return err
	}
	values := make([]string, 0, len(batch))
	for _, m := range batch {
		out := &sarama.ProducerMessage{
			Topic: h.env.output, Partition: m.Partition, Key: sarama.ByteEncoder(m.Key),
			Value: sarama.ByteEncoder(append([]byte("out-"), m.Value...)),
		}
		if _, _, err := h.producer.SendMessage(out); err != nil {
			_ = h.producer.AbortTxn()
			return err
		}
		values = append(values, string(m.Value))
		emit("sent", map[string]any{"value": string(m.Value)})
		time.Sleep(time.Duration(h.env.recordDelayMs) * time.Millisecond)
	}
	last := batch[len(batch)-1]
	offsets := map[string][]*sarama.PartitionOffsetMetadata{
		last.Topic: {{Partition: last.Partition, Offset: last.Offset + 1}},
	}
	meta := sarama.NewConsumerGroupMetadataFromSession(sess, h.env.group, nil)
	if err := h.producer.AddOffsetsToTxnWithGroupMetadata(offsets, meta); err != nil {
		_ = h.producer.AbortTxn()
		return err
	}
	if err := h.producer.CommitTxn(); err != nil {
		return err
	}
	emit("txn-committed", map[string]any{"values": values})
	return nil
}

func saramaTxnConsumeTransformProduce(c *scenarioCtx) error {
	env, err := ctpEnvFromOS()
	if err != nil {
		return err
	}
	producer, err := sarama.NewSyncProducer([]string{c.bootstrap}, saramaTxnConfig(c, env.transactionalID))
	if err != nil {
		return err
	}
	defer producer.Close()
	cfg := saramaConfig(c)
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = time.Duration(env.sessionTimeoutMs) * time.Millisecond
	cfg.Consumer.Group.Heartbeat.Interval = time.Second
	group, err := sarama.NewConsumerGroup([]string{c.bootstrap}, env.group, cfg)
	if err != nil {
		return err
	}
	defer group.Close()
	// Past the driver's own deadline: the harness ends this role by closing stdin.
	ctx, cancel := untilStdinEnds(context.Background())
	defer cancel()
	handler := saramaTxnHandler{env: env, producer: producer, mu: &sync.Mutex{}}
	for ctx.Err() == nil {
		err := group.Consume(ctx, []string{env.input}, handler)
		if err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return err
		}
	}
	return nil
}
