// Command rdkafka-bench drives a Kafka-protocol broker with librdkafka (through
// confluent-kafka-go, which links a static librdkafka on linux/amd64), so that the side by side
// has a non-Java client next to Kafka's own perf tools. Each command prints one line of JSON.
//
//	rdkafka-bench version
//	    the librdkafka version linked in (plain text)
//	rdkafka-bench produce BOOTSTRAP TOPIC RECORDS SIZE ACKS
//	    {"records":N,"bytes":B,"seconds":S}   RECORDS values of SIZE bytes, null keys,
//	    librdkafka defaults otherwise (linger.ms=5, batch.size=1000000); seconds run from the
//	    first produce() to the last delivery report.
//	rdkafka-bench consume BOOTSTRAP TOPIC RECORDS
//	    {"records":N,"bytes":B,"seconds":S}   assign() of every partition from the beginning;
//	    bytes count key + value bytes, as ConsumerPerformance does.
//	rdkafka-bench latency BOOTSTRAP TOPIC RATE SECONDS SIZE
//	    {"sent":..,"received":..,"lost":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,"max_ms":..}
//	    the same measurement as BenchClient's latency (acks=1, linger.ms=0, 5 s warm-up not
//	    counted, value = 8-byte monotonic send time + padding, one process for both ends).
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

const (
	warmupSeconds = 5
	drainTimeout  = 30 * time.Second
	stepTimeout   = 300 * time.Second
)

// epoch anchors the monotonic clock that both ends of the latency run read.
var epoch = time.Now()

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "version":
		_, text := kafka.LibraryVersion()
		fmt.Printf("librdkafka %s\n", text)
		return
	case "produce":
		need(7)
		err = produce(os.Args[2], os.Args[3], atoi(os.Args[4]), atoi(os.Args[5]), os.Args[6])
	case "consume":
		need(5)
		err = consume(os.Args[2], os.Args[3], atoi(os.Args[4]))
	case "latency":
		need(7)
		err = latency(os.Args[2], os.Args[3], atoi(os.Args[4]), atoi(os.Args[5]), atoi(os.Args[6]))
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rdkafka-bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: rdkafka-bench produce BOOTSTRAP TOPIC RECORDS SIZE ACKS\n"+
		"       rdkafka-bench consume BOOTSTRAP TOPIC RECORDS\n"+
		"       rdkafka-bench latency BOOTSTRAP TOPIC RATE SECONDS SIZE")
	os.Exit(2)
}

func need(n int) {
	if len(os.Args) != n {
		usage()
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "rdkafka-bench: not a count: %q\n", s)
		os.Exit(2)
	}
	return n
}

func emit(v any) {
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
}

func produce(bootstrap, topic string, records, size int, acks string) error {
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		"acks":              acks,
		// Room for the whole run in the local queue: the figure is the broker's pace, not the
		// back-pressure loop of this program.
		"queue.buffering.max.messages": 10_000_000,
		"queue.buffering.max.kbytes":   2_097_151,
		"go.delivery.reports":          true,
		"socket.nagle.disable":         true, // TCP_NODELAY, as the Java clients
	})
	if err != nil {
		return err
	}
	defer p.Close()
	value := make([]byte, size)
	done := make(chan error, 1)
	go func() {
		acked := 0
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				if m.TopicPartition.Error != nil {
					done <- m.TopicPartition.Error
					return
				}
				acked++
				if acked == records {
					done <- nil
					return
				}
			}
		}
	}()
	start := time.Now()
	for i := 0; i < records; i++ {
		for {
			err := p.Produce(&kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Value:          value,
			}, nil)
			if err == nil {
				break
			}
			if e, ok := err.(kafka.Error); ok && e.Code() == kafka.ErrQueueFull {
				p.Flush(10)
				continue
			}
			return err
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return err
		}
	case <-time.After(stepTimeout):
		return fmt.Errorf("not all %d records acknowledged after %s", records, stepTimeout)
	}
	seconds := time.Since(start).Seconds()
	emit(map[string]any{"records": records, "bytes": records * size, "seconds": seconds})
	return nil
}

// debugFromEnv sets librdkafka's `debug` contexts from RDKAFKA_DEBUG (e.g. "fetch,protocol"),
// for finding where a run waits; its log goes to stderr.
func debugFromEnv(conf kafka.ConfigMap) {
	if contexts := os.Getenv("RDKAFKA_DEBUG"); contexts != "" {
		conf["debug"] = contexts
	}
}

func newConsumer(bootstrap, topic string) (*kafka.Consumer, error) {
	// confluent-kafka-go insists on a group.id even for assign(); no offsets are committed.
	conf := kafka.ConfigMap{
		"bootstrap.servers":  bootstrap,
		"group.id":           "rdkafka-bench-" + topic,
		"enable.auto.commit": false,
		"auto.offset.reset":  "earliest",
		// When the local queue is full (queued.max.messages.kbytes), librdkafka stops fetching
		// for fetch.queue.backoff.ms, 1000 by default: whole idle seconds on a fast broker,
		// which measured the driver, not the broker. Retry after 1 ms instead.
		"fetch.queue.backoff.ms": 1,
		"socket.nagle.disable":   true,
	}
	debugFromEnv(conf)
	c, err := kafka.NewConsumer(&conf)
	if err != nil {
		return nil, err
	}
	md, err := c.GetMetadata(&topic, false, 30_000)
	if err != nil {
		c.Close()
		return nil, err
	}
	tm, ok := md.Topics[topic]
	if !ok || len(tm.Partitions) == 0 {
		c.Close()
		return nil, fmt.Errorf("topic %s has no partitions in metadata", topic)
	}
	var parts []kafka.TopicPartition
	for _, pm := range tm.Partitions {
		parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: pm.ID,
			Offset: kafka.OffsetBeginning})
	}
	if err := c.Assign(parts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func consume(bootstrap, topic string, records int) error {
	c, err := newConsumer(bootstrap, topic)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	seen, bytes := 0, 0
	for seen < records {
		if time.Since(start) > stepTimeout {
			return fmt.Errorf("timed out after %d of %d records", seen, records)
		}
		switch ev := c.Poll(100).(type) {
		case *kafka.Message:
			seen++
			bytes += len(ev.Key) + len(ev.Value)
		case kafka.Error:
			if ev.IsFatal() {
				return ev
			}
		}
	}
	emit(map[string]any{"records": seen, "bytes": bytes, "seconds": time.Since(start).Seconds()})
	return nil
}

func latency(bootstrap, topic string, rate, seconds, size int) error {
	if size < 8 {
		return fmt.Errorf("SIZE must hold the 8-byte timestamp")
	}
	c, err := newConsumer(bootstrap, topic)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":   bootstrap,
		"acks":                "1",
		"linger.ms":           0,
		"go.delivery.reports": false,
		// TCP_NODELAY, as the Java clients set it: with Nagle on (librdkafka's default) a
		// small request waits for the ACK of the previous one, up to the peer's 40 ms
		// delayed-ACK timer.
		"socket.nagle.disable": true,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	// Let the consumer settle its positions before the first send.
	c.Poll(200)
	if _, err := p.GetMetadata(&topic, false, 30_000); err != nil {
		return err
	}

	warmup := rate * warmupSeconds
	total := warmup + rate*seconds
	var sent atomic.Int64
	senderDone := make(chan error, 1)
	go func() {
		start := time.Now()
		template := make([]byte, size)
		i := 0
		for i < total {
			due := int(time.Since(start).Nanoseconds() * int64(rate) / 1e9)
			if due > total {
				due = total
			}
			for ; i < due; i++ {
				value := append([]byte(nil), template...)
				binary.BigEndian.PutUint64(value, uint64(time.Since(epoch).Nanoseconds()))
				err := p.Produce(&kafka.Message{
					TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
					Value:          value,
				}, nil)
				if err != nil {
					senderDone <- err
					return
				}
			}
			sent.Store(int64(i))
			time.Sleep(50 * time.Microsecond)
		}
		p.Flush(int(drainTimeout.Milliseconds()))
		senderDone <- nil
	}()

	lat := make([]int64, 0, total-warmup)
	received := 0
	var drainUntil time.Time
	for received < total && (drainUntil.IsZero() || time.Now().Before(drainUntil)) {
		switch ev := c.Poll(100).(type) {
		case *kafka.Message:
			now := time.Since(epoch).Nanoseconds()
			received++
			if received > warmup && len(ev.Value) >= 8 {
				lat = append(lat, now-int64(binary.BigEndian.Uint64(ev.Value)))
			}
		case kafka.Error:
			if ev.IsFatal() {
				return ev
			}
		}
		if drainUntil.IsZero() {
			select {
			case err := <-senderDone:
				if err != nil {
					return err
				}
				drainUntil = time.Now().Add(drainTimeout)
			default:
			}
		}
	}
	if len(lat) == 0 {
		return fmt.Errorf("no records received after the warm-up (%d received)", received)
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	maxMs := float64(lat[len(lat)-1]) / 1e6
	emit(map[string]any{"sent": sent.Load(), "received": received,
		"lost": sent.Load() - int64(received), "rate": rate, "seconds": seconds,
		"p50_ms": pct(lat, 0.50), "p99_ms": pct(lat, 0.99), "p999_ms": pct(lat, 0.999),
		"max_ms": maxMs})
	return nil
}

// pct is the nearest-rank percentile in milliseconds.
func pct(sorted []int64, q float64) float64 {
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return float64(sorted[rank]) / 1e6
}
