package dev.fjord.compat;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The group-member role ({@code Main java group-member}, the contract in SCENARIOS.md): joins
 * GROUP on TOPIC, prints one JSON line per event on stdout, commits each polled batch
 * synchronously once its records are printed (rebalances run inside poll(), so nothing printed
 * is left uncommitted when partitions are revoked), and leaves the group when stdin closes or on
 * SIGTERM.
 */
final class GroupMember {
  private GroupMember() {}

  private static final Map<String, String> ASSIGNORS =
      Map.of(
          "range", RangeAssignor.class.getName(),
          "roundrobin", RoundRobinAssignor.class.getName(),
          "cooperative-sticky", CooperativeStickyAssignor.class.getName());

  static int run() {
    Map<String, String> env = System.getenv();
    String assignor = env.getOrDefault("ASSIGNOR", "range");
    if (!ASSIGNORS.containsKey(assignor)) {
      emit("error", "\"message\":" + json("unknown assignor " + assignor));
      return Main.USAGE;
    }
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, require(env, "BOOTSTRAP"));
    props.put(ConsumerConfig.GROUP_ID_CONFIG, require(env, "GROUP"));
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "compat-java-" + env.getOrDefault("RUN_ID", "member"));
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // GROUP_PROTOCOL=consumer: KIP-848. The broker then owns the session, the heartbeat interval
    // and the assignment, and kafka-clients refuses the classic settings for them.
    boolean consumerProtocol = env.getOrDefault("GROUP_PROTOCOL", "classic").equals("consumer");
    if (consumerProtocol) {
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
    } else {
      props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, env.getOrDefault("SESSION_TIMEOUT_MS", "6000"));
      props.put(
          ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, env.getOrDefault("HEARTBEAT_INTERVAL_MS", "1000"));
      props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, ASSIGNORS.get(assignor));
    }
    String topic = require(env, "TOPIC");
    long maxNanos =
        TimeUnit.SECONDS.toNanos(Long.parseLong(env.getOrDefault("MEMBER_MAX_S", "120")));

    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch finished = new CountDownLatch(1);
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);
    Runnable requestStop =
        () -> {
          stop.set(true);
          consumer.wakeup();
        };
    Thread stdin =
        new Thread(
            () -> {
              drain(System.in);
              requestStop.run();
            },
            "stdin-watch");
    stdin.setDaemon(true);
    stdin.start();
    // SIGTERM: leave like on stdin EOF, and let the JVM exit only once the member has left.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  requestStop.run();
                  try {
                    finished.await(20, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                }));

    long started = System.nanoTime();
    try {
      consumer.subscribe(
          List.of(topic),
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
              emit("revoked", "\"partitions\":" + partitionList(partitions));
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
              // A KIP-848 member reports its own member epoch there, not a group-wide
              // generation, so the per-generation check would not apply: left out.
              String generation =
                  consumerProtocol ? "" : ",\"generation\":" + consumer.groupMetadata().generationId();
              emit("assigned", "\"partitions\":" + partitionList(partitions) + generation);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
              emit("lost", "\"partitions\":" + partitionList(partitions));
            }
          });
      while (!stop.get() && System.nanoTime() - started < maxNanos) {
        Iterable<ConsumerRecord<byte[], byte[]>> records;
        try {
          records = consumer.poll(Duration.ofMillis(200));
        } catch (WakeupException e) {
          break;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
          emit(
              "record",
              "\"partition\":"
                  + r.partition()
                  + ",\"offset\":"
                  + r.offset()
                  + ",\"value\":"
                  + json(ScenarioData.text(r.value())));
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        if (!offsets.isEmpty()) {
          try {
            consumer.commitSync(offsets);
          } catch (WakeupException e) {
            // Asked to stop mid-commit: commit once more, the member must not leave uncommitted.
            consumer.commitSync(offsets);
            stop.set(true);
          }
          List<String> parts = new ArrayList<>();
          offsets.forEach((tp, om) -> parts.add("\"" + tp.partition() + "\":" + om.offset()));
          emit("committed", "\"offsets\":{" + String.join(",", parts) + "}");
        }
      }
      // close() revokes (the listener runs) and sends LeaveGroup.
      consumer.close();
      emit("stopped", null);
      return Main.PASSED;
    } catch (Throwable e) {
      e.printStackTrace();
      emit("error", "\"message\":" + json(e.toString()));
      return Main.FAILED;
    } finally {
      finished.countDown();
    }
  }

  private static String require(Map<String, String> env, String name) {
    String v = env.get(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException("environment variable " + name + " is not set");
    }
    return v;
  }

  private static void drain(InputStream in) {
    byte[] buf = new byte[256];
    try {
      while (in.read(buf) >= 0) {
        // Only the end of stdin matters.
      }
    } catch (IOException e) {
      // A closed stdin is the same signal as its end.
    }
  }

  private static String partitionList(Collection<TopicPartition> partitions) {
    TreeSet<Integer> sorted = new TreeSet<>();
    partitions.forEach(tp -> sorted.add(tp.partition()));
    return sorted.toString().replace(" ", "");
  }

  /** One event line; `fields` is the JSON members after event and ts (or null). */
  static synchronized void emit(String event, String fields) {
    Instant now = Instant.now();
    long tsMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    StringBuilder line = new StringBuilder("{\"event\":\"").append(event).append("\",\"ts\":").append(tsMicros);
    if (fields != null) {
      line.append(',').append(fields);
    }
    System.out.println(line.append('}'));
    System.out.flush();
  }

  /** A JSON string literal. */
  static String json(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
