package main

// The group-member role (`compat-driver CLIENT group-member`, the contract in SCENARIOS.md):
// join GROUP on TOPIC, print one JSON line per event on stdout, commit synchronously what has
// been printed, and leave the group when stdin closes or on SIGTERM. Not a scenario: the harness
// runs several members and checks the group's invariants on their events.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// memberConf is what the harness tells a group member.
type memberConf struct {
	bootstrap, topic, group, runID, assignor   string
	sessionTimeout, heartbeatInterval, maxLife time.Duration
}

func memberConfFromEnv() (memberConf, error) {
	conf := memberConf{
		bootstrap: os.Getenv("BOOTSTRAP"),
		topic:     os.Getenv("TOPIC"),
		group:     os.Getenv("GROUP"),
		runID:     os.Getenv("RUN_ID"),
		assignor:  os.Getenv("ASSIGNOR"),
	}
	if conf.bootstrap == "" || conf.topic == "" || conf.group == "" {
		return conf, errors.New("BOOTSTRAP, TOPIC and GROUP must be set")
	}
	if conf.assignor == "" {
		conf.assignor = "range"
	}
	ms := func(name string, def int) (time.Duration, error) {
		v := os.Getenv(name)
		if v == "" {
			return time.Duration(def) * time.Millisecond, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %w", name, v, err)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	var err error
	if conf.sessionTimeout, err = ms("SESSION_TIMEOUT_MS", 6000); err != nil {
		return conf, err
	}
	if conf.heartbeatInterval, err = ms("HEARTBEAT_INTERVAL_MS", 1000); err != nil {
		return conf, err
	}
	// MEMBER_MAX_S is in seconds: read as "milliseconds" and scaled.
	maxS, err := ms("MEMBER_MAX_S", 120)
	conf.maxLife = maxS * 1000
	return conf, err
}

var emitMu sync.Mutex

// emit prints one event line: {"event":..., "ts": microseconds since the epoch, fields...}.
func emit(event string, fields map[string]any) {
	line := map[string]any{"event": event, "ts": time.Now().UnixMicro()}
	for k, v := range fields {
		line[k] = v
	}
	out, err := json.Marshal(line)
	if err != nil {
		out = fmt.Appendf(nil, `{"event":"error","message":%q}`, err.Error())
	}
	emitMu.Lock()
	defer emitMu.Unlock()
	os.Stdout.Write(append(out, '\n'))
}

func sortedPartitions(ps []int32) []int32 {
	out := append([]int32(nil), ps...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if out == nil {
		out = []int32{}
	}
	return out
}

// runGroupMember is the driver's entry point for the role; it returns the exit code.
func runGroupMember(client string) int {
	conf, err := memberConfFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), conf.maxLife)
	defer cancel()
	// Stop on stdin's end or SIGTERM: the member leaves its group and exits 0.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
	}()
	switch client {
	case "franz-go":
		err = franzGroupMember(ctx, conf)
	case "sarama":
		err = saramaGroupMember(ctx, conf)
	default:
		err = fmt.Errorf("unknown client %q", client)
	}
	if err != nil {
		emit("error", map[string]any{"message": err.Error()})
		fmt.Fprintf(os.Stderr, "FAIL %s group-member: %s\n", client, oneLine(err))
		return exitFailed
	}
	emit("stopped", nil)
	return exitPassed
}

// franzGroupMember: with BlockRebalanceOnPoll a rebalance waits until the polled records are
// printed and committed (AllowRebalance), so a revocation never finds uncommitted records.
func franzGroupMember(ctx context.Context, conf memberConf) error {
	balancers := map[string]kgo.GroupBalancer{
		"range":              kgo.RangeBalancer(),
		"roundrobin":         kgo.RoundRobinBalancer(),
		"cooperative-sticky": kgo.CooperativeStickyBalancer(),
	}
	balancer, ok := balancers[conf.assignor]
	if !ok {
		return fmt.Errorf("franz-go: unknown assignor %q", conf.assignor)
	}
	partitionsOf := func(m map[string][]int32) []int32 { return sortedPartitions(m[conf.topic]) }
	opts := []kgo.Opt{
		kgo.SeedBrokers(conf.bootstrap),
		kgo.ClientID("compat-franz-go-" + conf.runID),
		kgo.ConsumerGroup(conf.group),
		kgo.ConsumeTopics(conf.topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(conf.sessionTimeout),
		kgo.HeartbeatInterval(conf.heartbeatInterval),
		kgo.Balancers(balancer),
		kgo.BlockRebalanceOnPoll(),
		// Close waits for the fetch in flight.
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, m map[string][]int32) {
			_, generation := cl.GroupMetadata()
			emit("assigned", map[string]any{"partitions": partitionsOf(m), "generation": generation})
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			emit("revoked", map[string]any{"partitions": partitionsOf(m)})
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			emit("lost", map[string]any{"partitions": partitionsOf(m)})
		}),
	}
	if debug() {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	// Close leaves the group (the revoke callback runs first).
	defer cl.Close()
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		if fetches.IsClientClosed() {
			return errors.New("client closed while polling")
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.Canceled) && !errors.Is(fe.Err, context.DeadlineExceeded) {
				// Retried by the client; shown in the member's output only.
				emit("log", map[string]any{"line": fmt.Sprintf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)})
			}
		}
		records := fetches.Records()
		committed := map[string]int64{}
		for _, r := range records {
			emit("record", map[string]any{"partition": r.Partition, "offset": r.Offset, "value": string(r.Value)})
			committed[strconv.Itoa(int(r.Partition))] = r.Offset + 1
		}
		if len(records) > 0 {
			// Not ctx: a stop asked for meanwhile must not cancel the commit of what was printed.
			commitCtx, done := context.WithTimeout(context.Background(), 15*time.Second)
			err := cl.CommitRecords(commitCtx, records...)
			done()
			if err != nil {
				cl.AllowRebalance()
				return fmt.Errorf("commit: %w", err)
			}
			emit("committed", map[string]any{"offsets": committed})
		}
		cl.AllowRebalance()
	}
	return nil
}

// saramaHandler is a sarama.ConsumerGroupHandler that prints and commits every message. Sarama
// runs Cleanup only after every ConsumeClaim has returned, then rejoins: the eager protocol.
type saramaHandler struct{ topic string }

func (h saramaHandler) Setup(sess sarama.ConsumerGroupSession) error {
	emit("assigned", map[string]any{
		"partitions": sortedPartitions(sess.Claims()[h.topic]),
		"generation": sess.GenerationID(),
	})
	return nil
}

func (h saramaHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	emit("revoked", map[string]any{"partitions": sortedPartitions(sess.Claims()[h.topic])})
	return nil
}

func (h saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			// Print what has arrived, then commit it at once: one OffsetCommit per batch.
			last := msg
			for more := true; more; {
				emit("record", map[string]any{"partition": last.Partition, "offset": last.Offset, "value": string(last.Value)})
				sess.MarkMessage(last, "")
				select {
				case next, ok := <-claim.Messages():
					if ok {
						last = next
					} else {
						more = false
					}
				default:
					more = false
				}
			}
			// With auto-commit off, Commit is a blocking, synchronous OffsetCommit.
			sess.Commit()
			emit("committed", map[string]any{"offsets": map[string]int64{strconv.Itoa(int(last.Partition)): last.Offset + 1}})
		}
	}
}

func saramaGroupMember(ctx context.Context, conf memberConf) error {
	strategies := map[string]sarama.BalanceStrategy{
		"range":      sarama.NewBalanceStrategyRange(),
		"roundrobin": sarama.NewBalanceStrategyRoundRobin(),
	}
	strategy, ok := strategies[conf.assignor]
	if !ok {
		return fmt.Errorf("sarama: unknown assignor %q (sarama has no cooperative rebalancing)", conf.assignor)
	}
	cfg := saramaConfig(&scenarioCtx{Context: ctx, bootstrap: conf.bootstrap, topic: conf.topic, runID: conf.runID})
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = conf.sessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = conf.heartbeatInterval
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
	// The fetch long-poll and the OffsetCommit share the one connection to this broker, which
	// answers in order: a commit waits out the fetch in flight. Keep that wait short.
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	group, err := sarama.NewConsumerGroup([]string{conf.bootstrap}, conf.group, cfg)
	if err != nil {
		return err
	}
	go func() {
		for err := range group.Errors() {
			emit("log", map[string]any{"line": err.Error()})
		}
	}()
	for ctx.Err() == nil {
		// Consume returns at every rebalance (after Cleanup) and when ctx ends.
		if err := group.Consume(ctx, []string{conf.topic}, saramaHandler{topic: conf.topic}); err != nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) || ctx.Err() != nil {
				break
			}
			emit("log", map[string]any{"line": "consume: " + err.Error()})
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Close sends LeaveGroup.
	return group.Close()
}
