package dev.fjord.compat;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The transaction roles ({@code Main java txn-*}, the contract in SCENARIOS.md, "Transaction
 * roles"): each does what its scenario asks with kafka-clients' transactional producer and
 * read_committed / read_uncommitted consumers, and prints one JSON line per event on stdout
 * (GroupMember.emit); harness/txn_checks.py decides whether what it reports is right.
 */
final class Transactions {
  private Transactions() {}

  // The same data as harness/txn_checks.py (keep the two equal).
  static final List<String> VIS_COMMITTED_1 = values("c", 5);
  static final List<String> VIS_PLAIN = values("n", 3);
  static final List<String> VIS_ABORTED = values("a", 5);
  static final List<String> VIS_COMMITTED_2 = values("d", 3);
  static final List<String> ZOMBIE_VALUES = List.of("zombie-1", "zombie-2");
  static final List<String> SURVIVOR_VALUES = List.of("survivor");

  static int run(String role) {
    Main.Context ctx;
    try {
      ctx = Main.Context.fromEnv();
    } catch (IllegalStateException e) {
      System.err.println(e.getMessage());
      return Main.USAGE;
    }
    try {
      switch (role) {
        case "txn-visibility" -> visibility(ctx);
        case "txn-zombie" -> zombie(ctx);
        case "txn-consume-transform-produce" -> consumeTransformProduce(ctx);
        default -> {
          System.err.println("unknown role " + role);
          return Main.USAGE;
        }
      }
      GroupMember.emit("stopped", null);
      return Main.PASSED;
    } catch (Throwable e) {
      e.printStackTrace();
      GroupMember.emit("error", "\"message\":" + GroupMember.json(e.toString()));
      System.err.println("FAIL " + role + ": " + e.toString().replace('\n', ' '));
      return Main.FAILED;
    }
  }

  private static List<String> values(String prefix, int count) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  private static String jsonList(List<String> values) {
    List<String> quoted = new ArrayList<>();
    values.forEach(v -> quoted.add(GroupMember.json(v)));
    return "[" + String.join(",", quoted) + "]";
  }

  private static KafkaProducer<byte[], byte[]> txnProducer(Main.Context ctx, String transactionalId) {
    KafkaProducer<byte[], byte[]> producer =
        Clients.producer(ctx, Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId));
    producer.initTransactions();
    return producer;
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, String topic, List<String> values)
      throws InterruptedException, ExecutionException {
    List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
    for (String v : values) {
      acks.add(producer.send(new ProducerRecord<>(topic, 0, null, ScenarioData.utf8(v))));
    }
    for (java.util.concurrent.Future<?> ack : acks) {
      ack.get();
    }
  }

  static void visibility(Main.Context ctx) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = txnProducer(ctx, "vis-" + ctx.runId());
        KafkaProducer<byte[], byte[]> plain =
            Clients.producer(ctx, Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true))) {
      producer.beginTransaction();
      send(producer, ctx.topic(), VIS_COMMITTED_1);
      producer.commitTransaction();
      GroupMember.emit("txn-committed", "\"values\":" + jsonList(VIS_COMMITTED_1));
      send(plain, ctx.topic(), VIS_PLAIN);
      GroupMember.emit("plain-sent", "\"values\":" + jsonList(VIS_PLAIN));
      producer.beginTransaction();
      // Acknowledged before the abort: the aborted records must be in the log.
      send(producer, ctx.topic(), VIS_ABORTED);
      producer.abortTransaction();
      GroupMember.emit("txn-aborted", "\"values\":" + jsonList(VIS_ABORTED));
      producer.beginTransaction();
      send(producer, ctx.topic(), VIS_COMMITTED_2);
      producer.commitTransaction();
      GroupMember.emit("txn-committed", "\"values\":" + jsonList(VIS_COMMITTED_2));
    }
    int committedCount = VIS_COMMITTED_1.size() + VIS_PLAIN.size() + VIS_COMMITTED_2.size();
    read(ctx, "read_committed", committedCount);
    read(ctx, "read_uncommitted", committedCount + VIS_ABORTED.size());
  }

  private static void read(Main.Context ctx, String isolation, int count) {
    List<String> values = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r :
        Clients.read(ctx, 0, count, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
      values.add(ScenarioData.text(r.value()));
    }
    TopicPartition tp = new TopicPartition(ctx.topic(), 0);
    long end;
    try (KafkaConsumer<byte[], byte[]> consumer =
        Clients.consumer(ctx, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
      // endOffsets asks ListOffsets at the consumer's isolation level.
      end = consumer.endOffsets(List.of(tp)).get(tp);
    }
    GroupMember.emit(
        "end_offset", "\"isolation\":\"" + isolation + "\",\"offset\":" + end);
    GroupMember.emit("read", "\"isolation\":\"" + isolation + "\",\"values\":" + jsonList(values));
  }

  static void zombie(Main.Context ctx) throws Exception {
    String transactionalId = "zombie-" + ctx.runId();
    KafkaProducer<byte[], byte[]> first = txnProducer(ctx, transactionalId);
    first.beginTransaction();
    send(first, ctx.topic(), ZOMBIE_VALUES.subList(0, 1));
    try (KafkaProducer<byte[], byte[]> second = txnProducer(ctx, transactionalId)) {
      GroupMember.emit("initialized", "\"producer\":2");
      try {
        send(first, ctx.topic(), ZOMBIE_VALUES.subList(1, 2));
        first.commitTransaction();
        GroupMember.emit("not-fenced", null);
      } catch (KafkaException | ExecutionException e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        GroupMember.emit("fenced", "\"error\":" + GroupMember.json(cause.toString()));
      } finally {
        // A fenced producer can only be closed.
        first.close(Duration.ZERO);
      }
      second.beginTransaction();
      send(second, ctx.topic(), SURVIVOR_VALUES);
      second.commitTransaction();
      GroupMember.emit("txn-committed", "\"values\":" + jsonList(SURVIVOR_VALUES));
    }
  }

  static void consumeTransformProduce(Main.Context ctx) throws Exception {
    Map<String, String> env = System.getenv();
    String input = env.get("INPUT_TOPIC");
    String output = env.get("OUTPUT_TOPIC");
    long recordDelayMs = Long.parseLong(env.getOrDefault("RECORD_DELAY_MS", "10"));
    Map<String, Object> consumerProps = new HashMap<>();
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, env.get("GROUP"));
    consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    consumerProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, env.getOrDefault("MAX_POLL_RECORDS", "20"));
    consumerProps.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, env.getOrDefault("SESSION_TIMEOUT_MS", "6000"));
    consumerProps.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    AtomicBoolean stop = new AtomicBoolean();
    try (KafkaProducer<byte[], byte[]> producer = txnProducer(ctx, env.get("TRANSACTIONAL_ID"));
        KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(ctx, consumerProps)) {
      Thread stdin =
          new Thread(
              () -> {
                try {
                  System.in.transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException e) {
                  // A closed stdin is the same signal as its end.
                }
                stop.set(true);
                consumer.wakeup();
              },
              "stdin-watch");
      stdin.setDaemon(true);
      stdin.start();
      consumer.subscribe(List.of(input));
      while (!stop.get()) {
        ConsumerRecords<byte[], byte[]> records;
        try {
          records = consumer.poll(Duration.ofMillis(200));
        } catch (WakeupException e) {
          break;
        }
        if (records.isEmpty()) {
          continue;
        }
        producer.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        List<String> values = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
          String value = ScenarioData.text(r.value());
          producer.send(
              new ProducerRecord<>(output, r.partition(), r.key(), ScenarioData.utf8("out-" + value)));
          values.add(value);
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          GroupMember.emit("sent", "\"value\":" + GroupMember.json(value));
          Thread.sleep(recordDelayMs);
        }
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        producer.commitTransaction();
        GroupMember.emit("txn-committed", "\"values\":" + jsonList(values));
      }
    }
  }
}
