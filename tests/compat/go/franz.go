package main

// The scenarios with franz-go (kgo for producing and consuming, kadm for admin). Partitions are
// assigned with kgo.ConsumePartitions: no consumer group.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func franzClient(c *scenarioCtx, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(c.bootstrap),
		kgo.ClientID("compat-franz-go-" + c.runID),
		// The scenarios write to topics that do not exist yet, as the seed example does;
		// franz-go only lets the broker create them when asked to.
		kgo.AllowAutoTopicCreation(),
	}
	if debug() {
		base = append(base, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	return kgo.NewClient(append(base, opts...)...)
}

// franzProduce sends the records and waits for every acknowledgement.
func franzProduce(c *scenarioCtx, records []*kgo.Record, opts ...kgo.Opt) error {
	cl, err := franzClient(c, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(c, records...).FirstErr()
}

// franzRead reads the given partitions from their start until `count` records arrived.
func franzRead(c *scenarioCtx, partitions []int32, count int, opts ...kgo.Opt) ([]*kgo.Record, error) {
	assign := map[int32]kgo.Offset{}
	for _, p := range partitions {
		assign[p] = kgo.NewOffset().AtStart()
	}
	// Close waits for the fetch in flight: keep its wait short (later options override this).
	opts = append([]kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}, opts...)
	opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: assign}))
	cl, err := franzClient(c, opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return franzPoll(c, cl, count, readDeadline)
}

func franzPoll(c *scenarioCtx, cl *kgo.Client, count int, wait time.Duration) ([]*kgo.Record, error) {
	var out []*kgo.Record
	ctx, cancel := contextWithTimeout(c, wait)
	defer cancel()
	for len(out) < count && ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, ctx.Err()) {
				return out, fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		out = append(out, fetches.Records()...)
	}
	return out, nil
}

func franzSeed(c *scenarioCtx) error {
	values := seedValues()
	records := make([]*kgo.Record, len(values))
	for i, v := range values {
		records[i] = &kgo.Record{Topic: c.topic, Value: v}
	}
	if err := franzProduce(c, records); err != nil {
		return err
	}
	got, err := franzRead(c, []int32{0}, len(values))
	if err != nil {
		return err
	}
	if len(got) != len(values) {
		return fmt.Errorf("read %d of %d readings", len(got), len(values))
	}
	for i, r := range got {
		if !bytes.Equal(r.Value, values[i]) {
			return fmt.Errorf("reading %d: expected %s, got %s", i, values[i], r.Value)
		}
	}
	return nil
}

func franzKeyed(c *scenarioCtx) error {
	cl, err := franzClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	created, err := kadm.NewClient(cl).CreateTopic(c, 3, 1, nil, c.topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	records := make([]*kgo.Record, keyedCount)
	for i := range records {
		records[i] = &kgo.Record{Topic: c.topic, Key: []byte(keyOf(i)), Value: []byte(keyedValue(i))}
	}
	if err := cl.ProduceSync(c, records...).FirstErr(); err != nil {
		return err
	}
	got, err := franzRead(c, []int32{0, 1, 2}, keyedCount)
	if err != nil {
		return err
	}
	var read []keyedRecord
	for _, r := range got {
		read = append(read, keyedRecord{r.Partition, r.Offset, string(r.Key), string(r.Value)})
	}
	return checkKeyed(read)
}

func franzHeaders(c *scenarioCtx) error {
	ts := timestampsBase()
	headers := []kgo.RecordHeader{{Key: "h1", Value: []byte("v1")}, {Key: "h2", Value: nil}}
	record := &kgo.Record{
		Topic: c.topic, Key: []byte("the-key"), Value: []byte("the-value"),
		Headers: headers, Timestamp: time.UnixMilli(ts),
	}
	if err := franzProduce(c, []*kgo.Record{record}); err != nil {
		return err
	}
	got, err := franzRead(c, []int32{0}, 1)
	if err != nil {
		return err
	}
	if len(got) != 1 {
		return fmt.Errorf("read %d records, expected 1", len(got))
	}
	r := got[0]
	if string(r.Key) != "the-key" || string(r.Value) != "the-value" || r.Timestamp.UnixMilli() != ts {
		return fmt.Errorf("read key %q value %q timestamp %d, expected the-key the-value %d",
			r.Key, r.Value, r.Timestamp.UnixMilli(), ts)
	}
	if len(r.Headers) != 2 || r.Headers[0].Key != "h1" || string(r.Headers[0].Value) != "v1" ||
		r.Headers[1].Key != "h2" || r.Headers[1].Value != nil {
		return fmt.Errorf("headers %+v, expected [h1=v1 h2=null]", r.Headers)
	}
	return nil
}

func franzCodec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	default:
		return kgo.ZstdCompression()
	}
}

func franzCompression(c *scenarioCtx) error {
	var expected [][]byte
	for _, codec := range codecs {
		var records []*kgo.Record
		for i := 0; i < codecMessages; i++ {
			v := fmt.Appendf(nil, "%s-%d", codec, i)
			expected = append(expected, v)
			records = append(records, &kgo.Record{Topic: c.topic, Value: v})
		}
		err := franzProduce(c, records,
			kgo.ProducerBatchCompression(franzCodec(codec)), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			return fmt.Errorf("%s: %w", codec, err)
		}
		progress("produced with %s", codec)
	}
	got, err := franzRead(c, []int32{0}, len(expected))
	if err != nil {
		return err
	}
	if len(got) != len(expected) {
		return fmt.Errorf("read %d of %d records", len(got), len(expected))
	}
	for i, r := range got {
		if !bytes.Equal(r.Value, expected[i]) {
			return fmt.Errorf("record %d: expected %s, got %s", i, expected[i], r.Value)
		}
	}
	return nil
}

func franzLarge(c *scenarioCtx) error {
	cl, err := franzClient(c,
		// franz-go refuses records larger than a batch by itself; allow 4 MB so that the broker
		// is the one that refuses the 2 MB record.
		kgo.ProducerBatchMaxBytes(4_000_000),
		// franz-go compresses with snappy by default, which shrinks "yyy…" far below the broker's
		// limit; the scenario is about the size the broker sees.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RequiredAcks(kgo.LeaderAck()),
		kgo.DisableIdempotentWrite(),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	ok := &kgo.Record{Topic: c.topic, Value: bytes.Repeat([]byte("x"), largeOK)}
	if err := cl.ProduceSync(c, ok).FirstErr(); err != nil {
		return fmt.Errorf("the 900 KB record: %w", err)
	}
	refused := &kgo.Record{Topic: c.topic, Value: bytes.Repeat([]byte("y"), largeRefused)}
	err = cl.ProduceSync(c, refused).FirstErr()
	if err == nil {
		return errors.New("a 2 MB message was accepted")
	}
	if !errors.Is(err, kerr.MessageTooLarge) {
		return fmt.Errorf("expected MESSAGE_TOO_LARGE, got %w", err)
	}
	got, err := franzRead(c, []int32{0}, 1,
		kgo.FetchMaxPartitionBytes(2_000_000), kgo.FetchMaxBytes(4_000_000))
	if err != nil {
		return err
	}
	if len(got) != 1 || len(got[0].Value) != largeOK {
		return fmt.Errorf("read %d records, expected the one of %d bytes", len(got), largeOK)
	}
	return nil
}

func franzIdempotentRestart(c *scenarioCtx) error {
	// franz-go's producer is idempotent with acks=all by default; these are its own knobs for
	// riding out a broker restart.
	cl, err := franzClient(c,
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(60*time.Second),
		kgo.ProducerLinger(2*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	var (
		mu       sync.Mutex
		errs     []error
		wg       sync.WaitGroup
		firstAck = make(chan struct{})
		once     sync.Once
	)
	for i := 0; i < idempotentCount; i++ {
		wg.Add(1)
		r := &kgo.Record{Topic: c.topic, Partition: 0, Value: []byte(fmt.Sprint(i))}
		cl.Produce(c, r, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			once.Do(func() { close(firstAck) })
		})
		if i == 50 {
			select {
			case <-firstAck:
			case <-time.After(20 * time.Second):
				return errors.New("no acknowledgement within 20 s")
			}
			ready()
		}
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d sends failed, first: %w", len(errs), errs[0])
	}
	progress("all %d sends acknowledged", idempotentCount)
	got, err := franzRead(c, []int32{0}, idempotentCount)
	if err != nil {
		return err
	}
	values := make([][]byte, len(got))
	for i, r := range got {
		values[i] = r.Value
	}
	return checkSequence(values, idempotentCount)
}

func franzAdmin(c *scenarioCtx) error {
	cl, err := franzClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	created, err := adm.CreateTopic(c, 3, 1, nil, c.topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	partitions := func() (int, error) {
		details, err := adm.ListTopics(c, c.topic)
		if err != nil {
			return 0, err
		}
		d, ok := details[c.topic]
		if !ok {
			return 0, fmt.Errorf("topic %s not described", c.topic)
		}
		if d.Err != nil {
			return 0, d.Err
		}
		return len(d.Partitions), nil
	}
	// The broker answers CreateTopics once the controller has the topic; its own metadata
	// catches up a moment later, so the reads that follow retry for a while.
	if err := eventually(c, func() (bool, error) { n, err := partitions(); return n == 3, err }); err != nil {
		return fmt.Errorf("after create: %w", err)
	}
	retention := "3600000"
	altered, err := adm.AlterTopicConfigs(c,
		[]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &retention}}, c.topic)
	if err == nil {
		_, err = altered.On(c.topic, nil)
	}
	if err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	value := "<missing>"
	err = eventually(c, func() (bool, error) {
		described, err := adm.DescribeTopicConfigs(c, c.topic)
		if err != nil {
			return false, err
		}
		rc, err := described.On(c.topic, nil)
		if err == nil {
			err = rc.Err
		}
		for _, cfg := range rc.Configs {
			if cfg.Key == "retention.ms" {
				value = cfg.MaybeValue()
			}
		}
		return value == retention, err
	})
	if err != nil {
		return fmt.Errorf("describe configs: retention.ms is %s, expected %s (%w)", value, retention, err)
	}
	updated, err := adm.UpdatePartitions(c, 5, c.topic)
	if err == nil {
		err = updated.Error()
	}
	if err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	if err := eventually(c, func() (bool, error) { n, err := partitions(); return n == 5, err }); err != nil {
		return fmt.Errorf("partitions not added: %w", err)
	}
	deleted, err := adm.DeleteTopic(c, c.topic)
	if err == nil {
		err = deleted.Err
	}
	if err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	return eventually(c, func() (bool, error) {
		all, err := adm.ListTopics(c)
		return !all.Has(c.topic), err
	})
}

func franzTimestamps(c *scenarioCtx) error {
	t0 := timestampsBase()
	records := make([]*kgo.Record, 10)
	for i := range records {
		records[i] = &kgo.Record{
			Topic: c.topic, Partition: 0, Value: fmt.Appendf(nil, "t%d", i),
			Timestamp: time.UnixMilli(t0 + int64(i)*1000),
		}
	}
	cl, err := franzClient(c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(c, records...).FirstErr(); err != nil {
		return err
	}
	adm := kadm.NewClient(cl)
	listed, err := adm.ListOffsetsAfterMilli(c, t0+4500, c.topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	found, ok := listed.Lookup(c.topic, 0)
	if !ok || found.Offset != 5 {
		return fmt.Errorf("offset for t0 + 4500 is %+v, expected 5", found)
	}
	// kadm answers "no such offset" with the end offset; the broker's own answer (-1) is only
	// visible in the ListOffsets response, so ask with the request itself.
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	topic := kmsg.NewListOffsetsRequestTopic()
	topic.Topic = c.topic
	partition := kmsg.NewListOffsetsRequestTopicPartition()
	partition.Partition = 0
	partition.Timestamp = t0 + 60_000
	topic.Partitions = append(topic.Partitions, partition)
	req.Topics = append(req.Topics, topic)
	resp, err := req.RequestWith(c, cl)
	if err != nil {
		return fmt.Errorf("list offsets after the last message: %w", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Errorf("list offsets answered %d topics", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return fmt.Errorf("list offsets after the last message: %w", err)
	}
	if p.Offset != -1 {
		return fmt.Errorf("offset for a timestamp after the last message is %d, expected -1", p.Offset)
	}
	after, err := adm.ListOffsetsAfterMilli(c, t0+60_000, c.topic)
	if err != nil {
		return err
	}
	if o, _ := after.Lookup(c.topic, 0); o.Offset != 10 {
		return fmt.Errorf("kadm offset after the last message is %d, expected the end offset 10", o.Offset)
	}
	return nil
}

func franzLongPoll(c *scenarioCtx) error {
	producer, err := franzClient(c,
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer producer.Close()
	warmUp := &kgo.Record{Topic: c.topic, Partition: 0, Value: []byte("warm-up")}
	if err := producer.ProduceSync(c, warmUp).FirstErr(); err != nil {
		return err
	}
	consumer, err := franzClient(c,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: {0: kgo.NewOffset().AtEnd()}}),
		kgo.FetchMaxWait(longPollWait),
		kgo.FetchMinBytes(1),
	)
	if err != nil {
		return err
	}
	defer consumer.Close()
	sentAt := make(chan time.Time, 1)
	sendErr := make(chan error, 1)
	go func() {
		time.Sleep(time.Second)
		sentAt <- time.Now()
		wake := &kgo.Record{Topic: c.topic, Partition: 0, Value: []byte("wake-up")}
		sendErr <- producer.ProduceSync(c, wake).FirstErr()
	}()
	var gotAt time.Time
	ctx, cancel := contextWithTimeout(c, 15*time.Second)
	defer cancel()
	for gotAt.IsZero() && ctx.Err() == nil {
		fetches := consumer.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == "wake-up" && gotAt.IsZero() {
				gotAt = time.Now()
			}
		})
	}
	if err := <-sendErr; err != nil {
		return fmt.Errorf("sending the message: %w", err)
	}
	if gotAt.IsZero() {
		return errors.New("the message never arrived")
	}
	latency := gotAt.Sub(<-sentAt)
	progress("latency %v", latency)
	if latency >= longPollBound {
		return fmt.Errorf("message took %v to reach a waiting consumer", latency)
	}
	return nil
}
