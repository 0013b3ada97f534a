package main

// The scenarios with IBM/sarama: SyncProducer and AsyncProducer, Consumer.ConsumePartition (no
// consumer group), Client.GetOffset and ClusterAdmin. sarama.Config.Version is left at the
// library's default, as most programs leave it.

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/IBM/sarama"
)

func saramaConfig(c *scenarioCtx) *sarama.Config {
	if debug() {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	cfg := sarama.NewConfig()
	cfg.ClientID = "compat-sarama-" + c.runID
	cfg.Producer.Return.Successes = true
	cfg.Consumer.Return.Errors = true
	return cfg
}

// saramaSend sends the messages with a SyncProducer and waits for every acknowledgement.
func saramaSend(c *scenarioCtx, cfg *sarama.Config, msgs []*sarama.ProducerMessage) error {
	producer, err := sarama.NewSyncProducer([]string{c.bootstrap}, cfg)
	if err != nil {
		return err
	}
	defer producer.Close()
	return producer.SendMessages(msgs)
}

// saramaRead reads one partition from its start until `count` messages arrived.
func saramaRead(c *scenarioCtx, cfg *sarama.Config, partition int32, count int) ([]*sarama.ConsumerMessage, error) {
	consumer, err := sarama.NewConsumer([]string{c.bootstrap}, cfg)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(c.topic, partition, sarama.OffsetOldest)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	deadline := time.After(readDeadline)
	for len(out) < count {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case err := <-pc.Errors():
			return out, err
		case <-deadline:
			return out, nil
		case <-c.Done():
			return out, c.Err()
		}
	}
	return out, nil
}

func saramaSeed(c *scenarioCtx) error {
	values := seedValues()
	msgs := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		msgs[i] = &sarama.ProducerMessage{Topic: c.topic, Value: sarama.ByteEncoder(v)}
	}
	if err := saramaSend(c, saramaConfig(c), msgs); err != nil {
		return err
	}
	got, err := saramaRead(c, saramaConfig(c), 0, len(values))
	if err != nil {
		return err
	}
	if len(got) != len(values) {
		return fmt.Errorf("read %d of %d readings", len(got), len(values))
	}
	for i, m := range got {
		if !bytes.Equal(m.Value, values[i]) {
			return fmt.Errorf("reading %d: expected %s, got %s", i, values[i], m.Value)
		}
	}
	return nil
}

func saramaCreateTopic(c *scenarioCtx, admin sarama.ClusterAdmin, partitions int32) error {
	err := admin.CreateTopic(c.topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	return nil
}

func saramaKeyed(c *scenarioCtx) error {
	admin, err := sarama.NewClusterAdmin([]string{c.bootstrap}, saramaConfig(c))
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := saramaCreateTopic(c, admin, 3); err != nil {
		return err
	}
	msgs := make([]*sarama.ProducerMessage, keyedCount)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic: c.topic, Key: sarama.StringEncoder(keyOf(i)), Value: sarama.StringEncoder(keyedValue(i)),
		}
	}
	if err := saramaSend(c, saramaConfig(c), msgs); err != nil {
		return err
	}
	client, err := sarama.NewClient([]string{c.bootstrap}, saramaConfig(c))
	if err != nil {
		return err
	}
	defer client.Close()
	var read []keyedRecord
	for p := int32(0); p < 3; p++ {
		end, err := client.GetOffset(c.topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("end offset of partition %d: %w", p, err)
		}
		if end == 0 {
			continue
		}
		got, err := saramaRead(c, saramaConfig(c), p, int(end))
		if err != nil {
			return err
		}
		for _, m := range got {
			read = append(read, keyedRecord{m.Partition, m.Offset, string(m.Key), string(m.Value)})
		}
	}
	return checkKeyed(read)
}

func saramaHeaders(c *scenarioCtx) error {
	ts := timestampsBase()
	msg := &sarama.ProducerMessage{
		Topic: c.topic, Key: sarama.StringEncoder("the-key"), Value: sarama.StringEncoder("the-value"),
		Headers:   []sarama.RecordHeader{{Key: []byte("h1"), Value: []byte("v1")}, {Key: []byte("h2"), Value: nil}},
		Timestamp: time.UnixMilli(ts),
	}
	if err := saramaSend(c, saramaConfig(c), []*sarama.ProducerMessage{msg}); err != nil {
		return err
	}
	got, err := saramaRead(c, saramaConfig(c), 0, 1)
	if err != nil {
		return err
	}
	if len(got) != 1 {
		return fmt.Errorf("read %d messages, expected 1", len(got))
	}
	m := got[0]
	if string(m.Key) != "the-key" || string(m.Value) != "the-value" || m.Timestamp.UnixMilli() != ts {
		return fmt.Errorf("read key %q value %q timestamp %d, expected the-key the-value %d",
			m.Key, m.Value, m.Timestamp.UnixMilli(), ts)
	}
	h := m.Headers
	if len(h) != 2 || string(h[0].Key) != "h1" || string(h[0].Value) != "v1" ||
		string(h[1].Key) != "h2" || h[1].Value != nil {
		return fmt.Errorf("headers %v, expected [h1=v1 h2=null]", h)
	}
	return nil
}

var saramaCodecs = map[string]sarama.CompressionCodec{
	"gzip":   sarama.CompressionGZIP,
	"snappy": sarama.CompressionSnappy,
	"lz4":    sarama.CompressionLZ4,
	"zstd":   sarama.CompressionZSTD,
}

func saramaCompression(c *scenarioCtx) error {
	var expected [][]byte
	for _, codec := range codecs {
		cfg := saramaConfig(c)
		cfg.Producer.Compression = saramaCodecs[codec]
		cfg.Producer.Flush.Frequency = 5 * time.Millisecond
		var msgs []*sarama.ProducerMessage
		for i := 0; i < codecMessages; i++ {
			v := fmt.Appendf(nil, "%s-%d", codec, i)
			expected = append(expected, v)
			msgs = append(msgs, &sarama.ProducerMessage{Topic: c.topic, Value: sarama.ByteEncoder(v)})
		}
		if err := saramaSend(c, cfg, msgs); err != nil {
			return fmt.Errorf("%s: %w", codec, err)
		}
		progress("produced with %s", codec)
	}
	got, err := saramaRead(c, saramaConfig(c), 0, len(expected))
	if err != nil {
		return err
	}
	if len(got) != len(expected) {
		return fmt.Errorf("read %d of %d messages", len(got), len(expected))
	}
	for i, m := range got {
		if !bytes.Equal(m.Value, expected[i]) {
			return fmt.Errorf("message %d: expected %s, got %s", i, expected[i], m.Value)
		}
	}
	return nil
}

func saramaLarge(c *scenarioCtx) error {
	cfg := saramaConfig(c)
	// sarama refuses messages above Producer.MaxMessageBytes itself, with the same
	// ErrMessageSizeTooLarge the broker's answer maps to; at 4 MB the broker is the one refusing.
	cfg.Producer.MaxMessageBytes = 4_000_000
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	cfg.Producer.Retry.Max = 0
	producer, err := sarama.NewSyncProducer([]string{c.bootstrap}, cfg)
	if err != nil {
		return err
	}
	defer producer.Close()
	ok := &sarama.ProducerMessage{Topic: c.topic, Value: sarama.ByteEncoder(bytes.Repeat([]byte("x"), largeOK))}
	if _, _, err := producer.SendMessage(ok); err != nil {
		return fmt.Errorf("the 900 KB message: %w", err)
	}
	refused := &sarama.ProducerMessage{Topic: c.topic, Value: sarama.ByteEncoder(bytes.Repeat([]byte("y"), largeRefused))}
	_, _, err = producer.SendMessage(refused)
	if err == nil {
		return errors.New("a 2 MB message was accepted")
	}
	if !errors.Is(err, sarama.ErrMessageSizeTooLarge) {
		return fmt.Errorf("expected MESSAGE_TOO_LARGE, got %w", err)
	}
	read := saramaConfig(c)
	read.Consumer.Fetch.Default = 2_000_000
	read.Consumer.Fetch.Max = 4_000_000
	got, err := saramaRead(c, read, 0, 1)
	if err != nil {
		return err
	}
	if len(got) != 1 || len(got[0].Value) != largeOK {
		return fmt.Errorf("read %d messages, expected the one of %d bytes", len(got), largeOK)
	}
	return nil
}

func saramaIdempotentRestart(c *scenarioCtx) error {
	cfg := saramaConfig(c)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1 // sarama's condition for idempotence
	cfg.Producer.Retry.Max = 100
	cfg.Producer.Retry.Backoff = 200 * time.Millisecond
	cfg.Producer.Timeout = 5 * time.Second
	cfg.Producer.Return.Errors = true
	cfg.Producer.Flush.Frequency = 2 * time.Millisecond
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	// A batch whose leader cannot be looked up fails at once, whatever Producer.Retry says, and
	// the lookup gives up after Metadata.Retry.Max attempts (3 by default, about a second): let
	// it outlast a broker restart.
	cfg.Metadata.Retry.Max = 60
	cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	producer, err := sarama.NewAsyncProducer([]string{c.bootstrap}, cfg)
	if err != nil {
		return err
	}
	acked := make(chan error, idempotentCount)
	go func() {
		for range producer.Successes() {
			acked <- nil
		}
	}()
	go func() {
		for e := range producer.Errors() {
			acked <- e
		}
	}()
	var errs []error
	received := 0
	for i := 0; i < idempotentCount; i++ {
		producer.Input() <- &sarama.ProducerMessage{Topic: c.topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprint(i))}
		if i == 50 {
			select {
			case err := <-acked:
				received++
				if err != nil {
					errs = append(errs, err)
				}
			case <-time.After(20 * time.Second):
				producer.AsyncClose()
				return errors.New("no acknowledgement within 20 s")
			}
			ready()
		}
		time.Sleep(10 * time.Millisecond)
	}
	for ; received < idempotentCount; received++ {
		select {
		case err := <-acked:
			if err != nil {
				errs = append(errs, err)
			}
		case <-c.Done():
			producer.AsyncClose()
			return fmt.Errorf("%d of %d sends acknowledged: %w", received, idempotentCount, c.Err())
		}
	}
	if err := producer.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d sends failed, first: %w", len(errs), errs[0])
	}
	progress("all %d sends acknowledged", idempotentCount)
	got, err := saramaRead(c, saramaConfig(c), 0, idempotentCount)
	if err != nil {
		return err
	}
	values := make([][]byte, len(got))
	for i, m := range got {
		values[i] = m.Value
	}
	return checkSequence(values, idempotentCount)
}

func saramaAdmin(c *scenarioCtx) error {
	admin, err := sarama.NewClusterAdmin([]string{c.bootstrap}, saramaConfig(c))
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := saramaCreateTopic(c, admin, 3); err != nil {
		return err
	}
	partitions := func() (int, error) {
		meta, err := admin.DescribeTopics([]string{c.topic})
		if err != nil {
			return 0, err
		}
		if len(meta) != 1 {
			return 0, fmt.Errorf("%d topics described", len(meta))
		}
		if !errors.Is(meta[0].Err, sarama.ErrNoError) {
			return 0, meta[0].Err
		}
		return len(meta[0].Partitions), nil
	}
	// The broker answers CreateTopics once the controller has the topic; its own metadata
	// catches up a moment later, so the reads that follow retry for a while.
	if err := eventually(c, func() (bool, error) { n, err := partitions(); return n == 3, err }); err != nil {
		return fmt.Errorf("after create: %w", err)
	}
	retention := "3600000"
	err = admin.IncrementalAlterConfig(sarama.TopicResource, c.topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &retention},
	}, false)
	if err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	value := "<missing>"
	err = eventually(c, func() (bool, error) {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: c.topic})
		for _, e := range entries {
			if e.Name == "retention.ms" {
				value = e.Value
			}
		}
		return value == retention, err
	})
	if err != nil {
		return fmt.Errorf("describe configs: retention.ms is %s, expected %s (%w)", value, retention, err)
	}
	if err := admin.CreatePartitions(c.topic, 5, nil, false); err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	if err := eventually(c, func() (bool, error) { n, err := partitions(); return n == 5, err }); err != nil {
		return fmt.Errorf("partitions not added: %w", err)
	}
	if err := admin.DeleteTopic(c.topic); err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	return eventually(c, func() (bool, error) {
		topics, err := admin.ListTopics()
		_, listed := topics[c.topic]
		return !listed, err
	})
}

func saramaTimestamps(c *scenarioCtx) error {
	t0 := timestampsBase()
	cfg := saramaConfig(c)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	msgs := make([]*sarama.ProducerMessage, 10)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic: c.topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("t%d", i)),
			Timestamp: time.UnixMilli(t0 + int64(i)*1000),
		}
	}
	if err := saramaSend(c, cfg, msgs); err != nil {
		return err
	}
	client, err := sarama.NewClient([]string{c.bootstrap}, saramaConfig(c))
	if err != nil {
		return err
	}
	defer client.Close()
	found, err := client.GetOffset(c.topic, 0, t0+4500)
	if err != nil {
		return fmt.Errorf("offset for t0 + 4500: %w", err)
	}
	if found != 5 {
		return fmt.Errorf("offset for t0 + 4500 is %d, expected 5", found)
	}
	after, err := client.GetOffset(c.topic, 0, t0+60_000)
	if err != nil {
		return fmt.Errorf("offset after the last message: %w", err)
	}
	if after != -1 {
		return fmt.Errorf("offset for a timestamp after the last message is %d, expected -1", after)
	}
	return nil
}

func saramaLongPoll(c *scenarioCtx) error {
	cfg := saramaConfig(c)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer([]string{c.bootstrap}, cfg)
	if err != nil {
		return err
	}
	defer producer.Close()
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: c.topic, Partition: 0, Value: sarama.StringEncoder("warm-up")}); err != nil {
		return err
	}
	read := saramaConfig(c)
	read.Consumer.MaxWaitTime = longPollWait
	read.Consumer.Fetch.Min = 1
	consumer, err := sarama.NewConsumer([]string{c.bootstrap}, read)
	if err != nil {
		return err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(c.topic, 0, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	defer pc.Close()
	sentAt := make(chan time.Time, 1)
	sendErr := make(chan error, 1)
	go func() {
		time.Sleep(time.Second)
		sentAt <- time.Now()
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: c.topic, Partition: 0, Value: sarama.StringEncoder("wake-up")})
		sendErr <- err
	}()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-pc.Messages():
			if string(m.Value) != "wake-up" {
				continue
			}
			gotAt := time.Now()
			if err := <-sendErr; err != nil {
				return fmt.Errorf("sending the message: %w", err)
			}
			latency := gotAt.Sub(<-sentAt)
			progress("latency %v", latency)
			if latency >= longPollBound {
				return fmt.Errorf("message took %v to reach a waiting consumer", latency)
			}
			return nil
		case err := <-pc.Errors():
			return err
		case <-deadline:
			return errors.New("the message never arrived")
		}
	}
}
