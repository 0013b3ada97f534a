package dev.fjord.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/** The nine scenarios of tests/compat/SCENARIOS.md with the Java client's public API. */
final class Scenarios {
  private Scenarios() {}

  private static final long ACK_TIMEOUT_S = 30;

  static void seed(Main.Context ctx) throws Exception {
    List<byte[]> values = ScenarioData.seedValues();
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, Map.of())) {
      for (byte[] v : values) {
        producer.send(new ProducerRecord<>(ctx.topic(), v));
      }
      producer.flush();
    }
    List<ConsumerRecord<byte[], byte[]>> records = Clients.read(ctx, 0, values.size());
    Check.equal(values.size(), records.size(), "readings read back");
    for (int i = 0; i < values.size(); i++) {
      Check.equal(
          ScenarioData.text(values.get(i)),
          ScenarioData.text(records.get(i).value()),
          "reading " + i);
    }
  }

  static void keyed(Main.Context ctx) throws Exception {
    Clients.createTopic(ctx, 3);
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, Map.of())) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < ScenarioData.KEYED_COUNT; i++) {
        acks.add(
            producer.send(
                new ProducerRecord<>(
                    ctx.topic(),
                    ScenarioData.utf8(ScenarioData.keyOf(i)),
                    ScenarioData.utf8(ScenarioData.keyedValue(i)))));
      }
      for (Future<RecordMetadata> ack : acks) {
        ack.get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
      }
    }
    Map<String, Set<Integer>> partitionsOfKey = new TreeMap<>();
    List<String> values = new ArrayList<>();
    for (int p = 0; p < 3; p++) {
      List<ConsumerRecord<byte[], byte[]>> records = Clients.readToEnd(ctx, p);
      for (int i = 0; i < records.size(); i++) {
        ConsumerRecord<byte[], byte[]> r = records.get(i);
        Check.equal((long) i, r.offset(), "offset of record " + i + " of partition " + p);
        partitionsOfKey.computeIfAbsent(ScenarioData.text(r.key()), k -> new HashSet<>()).add(p);
        values.add(ScenarioData.text(r.value()));
      }
    }
    Check.equal(ScenarioData.KEYED_COUNT, values.size(), "records read from all partitions");
    partitionsOfKey.forEach(
        (key, parts) -> Check.that(parts.size() == 1, "key " + key + " landed on partitions " + parts));
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < ScenarioData.KEYED_COUNT; i++) {
      expected.add(ScenarioData.keyedValue(i));
    }
    values.sort(null);
    expected.sort(null);
    Check.equal(expected, values, "values read back");
  }

  static void headers(Main.Context ctx) throws Exception {
    long ts = ScenarioData.timestampsBase();
    List<Header> sent =
        List.of(new RecordHeader("h1", ScenarioData.utf8("v1")), new RecordHeader("h2", null));
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, Map.of())) {
      producer
          .send(
              new ProducerRecord<>(
                  ctx.topic(),
                  null,
                  ts,
                  ScenarioData.utf8("the-key"),
                  ScenarioData.utf8("the-value"),
                  sent))
          .get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
    }
    List<ConsumerRecord<byte[], byte[]>> records = Clients.read(ctx, 0, 1);
    Check.equal(1, records.size(), "records read back");
    ConsumerRecord<byte[], byte[]> r = records.get(0);
    Check.equal("the-key", ScenarioData.text(r.key()), "key");
    Check.equal("the-value", ScenarioData.text(r.value()), "value");
    Check.equal(ts, r.timestamp(), "timestamp");
    Header[] got = r.headers().toArray();
    Check.equal(2, got.length, "header count");
    Check.equal("h1", got[0].key(), "first header key");
    Check.that(Arrays.equals(ScenarioData.utf8("v1"), got[0].value()), "first header value");
    Check.equal("h2", got[1].key(), "second header key");
    Check.that(got[1].value() == null, "second header value is not null: " + Arrays.toString(got[1].value()));
  }

  static void compression(Main.Context ctx) throws Exception {
    List<String> expected = new ArrayList<>();
    for (String codec : ScenarioData.CODECS) {
      Map<String, Object> conf =
          Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, 5);
      try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, conf)) {
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < ScenarioData.CODEC_MESSAGES; i++) {
          String value = codec + "-" + i;
          expected.add(value);
          acks.add(producer.send(new ProducerRecord<>(ctx.topic(), ScenarioData.utf8(value))));
        }
        for (Future<RecordMetadata> ack : acks) {
          ack.get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
        }
      }
      System.out.println("produced with " + codec);
    }
    List<ConsumerRecord<byte[], byte[]>> records = Clients.read(ctx, 0, expected.size());
    List<String> got = new ArrayList<>();
    records.forEach(r -> got.add(ScenarioData.text(r.value())));
    Check.equal(expected, got, "values read back");
  }

  static void large(Main.Context ctx) throws Exception {
    Map<String, Object> conf =
        Map.of(
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4_000_000,
            ProducerConfig.RETRIES_CONFIG, 0,
            ProducerConfig.ACKS_CONFIG, "1",
            // Idempotence needs acks=all and retries; this scenario wants neither.
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, conf)) {
      byte[] ok = new byte[ScenarioData.LARGE_OK];
      Arrays.fill(ok, (byte) 'x');
      producer.send(new ProducerRecord<>(ctx.topic(), ok)).get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
      byte[] refused = new byte[ScenarioData.LARGE_REFUSED];
      Arrays.fill(refused, (byte) 'y');
      try {
        producer.send(new ProducerRecord<>(ctx.topic(), refused)).get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
        throw new Check.Failure("a 2 MB message was accepted");
      } catch (ExecutionException e) {
        Check.that(
            e.getCause() instanceof RecordTooLargeException,
            "expected MESSAGE_TOO_LARGE, got " + e.getCause());
        // The producer's own size check says "The message is N bytes when serialized ...";
        // with max.request.size raised it must not be the one refusing.
        Check.that(
            !String.valueOf(e.getCause().getMessage()).startsWith("The message is"),
            "refused by the client, not the broker: " + e.getCause().getMessage());
      }
    }
    List<ConsumerRecord<byte[], byte[]>> records =
        Clients.read(
            ctx,
            0,
            1,
            Map.of(
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 2_000_000,
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 4_000_000));
    Check.equal(1, records.size(), "records read back");
    Check.equal(ScenarioData.LARGE_OK, records.get(0).value().length, "size of the large value");
  }

  static void idempotentRestart(Main.Context ctx) throws Exception {
    Map<String, Object> conf =
        Map.of(
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
            ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 200,
            ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000,
            ProducerConfig.LINGER_MS_CONFIG, 2);
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, conf)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < ScenarioData.IDEMPOTENT_COUNT; i++) {
        acks.add(producer.send(new ProducerRecord<>(ctx.topic(), 0, null, ScenarioData.utf8(Integer.toString(i)))));
        if (i == 50) {
          acks.get(0).get(20, TimeUnit.SECONDS);
          // The harness restarts the broker when it reads this line.
          System.out.println("READY");
          System.out.flush();
        }
        Thread.sleep(10);
      }
      for (Future<RecordMetadata> ack : acks) {
        ack.get(60, TimeUnit.SECONDS);
      }
    }
    System.out.println("all " + ScenarioData.IDEMPOTENT_COUNT + " sends acknowledged");
    List<ConsumerRecord<byte[], byte[]>> records = Clients.read(ctx, 0, ScenarioData.IDEMPOTENT_COUNT);
    List<Integer> got = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      got.add(Integer.parseInt(ScenarioData.text(r.value())));
    }
    for (int i = 0; i < got.size(); i++) {
      Check.equal(i, got.get(i), "value at offset " + i + " (read " + got.size() + ")");
    }
    Check.equal(ScenarioData.IDEMPOTENT_COUNT, got.size(), "values read back");
  }

  static void admin(Main.Context ctx) throws Exception {
    String topic = ctx.topic();
    try (Admin admin = Clients.admin(ctx)) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
      // The controller acknowledges admin changes before the broker's own metadata has them, so
      // what follows each change retries for a while.
      awaitTrue(() -> partitionCount(admin, topic) == 3, "the topic does not have 3 partitions");
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      AlterConfigOp set =
          new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET);
      admin.incrementalAlterConfigs(Map.of(resource, List.of(set))).all().get();
      awaitTrue(
          () -> {
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            ConfigEntry retention = config.get("retention.ms");
            return retention != null && "3600000".equals(retention.value());
          },
          "describe configs does not show retention.ms=3600000");
      admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get();
      awaitTrue(() -> partitionCount(admin, topic) == 5, "partitions not added");
      admin.deleteTopics(List.of(topic)).all().get();
      awaitTrue(() -> !admin.listTopics().names().get().contains(topic), "topic still listed after delete");
    }
  }

  private static int partitionCount(Admin admin, String topic) throws Exception {
    return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
  }

  @FunctionalInterface
  private interface Condition {
    boolean holds() throws Exception;
  }

  private static void awaitTrue(Condition condition, String failure) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      Exception last = null;
      try {
        if (condition.holds()) {
          return;
        }
      } catch (ExecutionException e) {
        // E.g. UNKNOWN_TOPIC_OR_PARTITION from a broker that has not seen the topic yet.
        last = e;
      }
      if (System.nanoTime() > deadline) {
        throw new Check.Failure(failure + (last == null ? "" : " (" + last.getCause() + ")"));
      }
      Thread.sleep(100);
    }
  }

  static void timestamps(Main.Context ctx) throws Exception {
    long t0 = ScenarioData.timestampsBase();
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, Map.of())) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        acks.add(
            producer.send(
                new ProducerRecord<>(ctx.topic(), 0, t0 + i * 1000L, null, ScenarioData.utf8("t" + i))));
      }
      for (Future<RecordMetadata> ack : acks) {
        ack.get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
      }
    }
    TopicPartition tp = new TopicPartition(ctx.topic(), 0);
    try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(ctx, Map.of())) {
      Map<TopicPartition, OffsetAndTimestamp> found =
          consumer.offsetsForTimes(Map.of(tp, t0 + 4500), Duration.ofSeconds(10));
      Check.that(found.get(tp) != null, "no offset for t0 + 4500");
      Check.equal(5L, found.get(tp).offset(), "offset for t0 + 4500");
      Check.equal(t0 + 5000, found.get(tp).timestamp(), "timestamp of that offset");
      Map<TopicPartition, OffsetAndTimestamp> after =
          consumer.offsetsForTimes(Map.of(tp, t0 + 60_000), Duration.ofSeconds(10));
      Check.that(after.get(tp) == null, "an offset after the last message: " + after.get(tp));
    }
  }

  static void longPoll(Main.Context ctx) throws Exception {
    TopicPartition tp = new TopicPartition(ctx.topic(), 0);
    try (KafkaProducer<byte[], byte[]> producer =
        Clients.producer(ctx, Map.of(ProducerConfig.LINGER_MS_CONFIG, 0))) {
      producer
          .send(new ProducerRecord<>(ctx.topic(), 0, null, ScenarioData.utf8("warm-up")))
          .get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
      Map<String, Object> conf = new HashMap<>();
      conf.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, ScenarioData.LONG_POLL_WAIT_MS);
      conf.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, 1);
      KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(ctx, conf);
      try {
        consumer.assign(List.of(tp));
        consumer.seekToEnd(List.of(tp));
        // Resolves the end offset now, so that the consumer is waiting at the end when the
        // message is sent.
        long end = consumer.position(tp, Duration.ofSeconds(10));
        consumer.poll(Duration.ofMillis(200));
        AtomicLong sentAtNanos = new AtomicLong();
        Thread sender =
            new Thread(
                () -> {
                  try {
                    Thread.sleep(1000);
                    sentAtNanos.set(System.nanoTime());
                    producer.send(new ProducerRecord<>(ctx.topic(), 0, null, ScenarioData.utf8("wake-up")));
                    producer.flush();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
        sender.start();
        long gotAtNanos = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (gotAtNanos == 0 && System.nanoTime() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofSeconds(10))) {
            if ("wake-up".equals(ScenarioData.text(r.value()))) {
              gotAtNanos = System.nanoTime();
              Check.equal(end, r.offset(), "offset of the awaited message");
            }
          }
        }
        sender.join();
        Check.that(gotAtNanos != 0, "the message never arrived");
        long latencyMs = TimeUnit.NANOSECONDS.toMillis(gotAtNanos - sentAtNanos.get());
        System.out.println("latency " + latencyMs + " ms");
        Check.that(
            latencyMs < ScenarioData.LONG_POLL_BOUND_MS,
            "message took " + latencyMs + " ms to reach a waiting consumer");
      } finally {
        // The consumer has a 5 s fetch outstanding by now; a plain close would wait for it.
        consumer.close(CloseOptions.timeout(Duration.ofMillis(500)));
      }
    }
  }
}
