// The benchmark's own client steps, on the stock kafka-clients library so that fjord and Kafka
// are driven by identical code:
//
//   create  BOOTSTRAP TOPIC PARTITIONS   create a topic (replication factor 1) and wait for it
//   consume BOOTSTRAP TOPIC RECORDS      read RECORDS records from the start of every partition
//   latency BOOTSTRAP TOPIC RATE SECONDS SIZE
//                                        end-to-end latency at a fixed produce rate
//
// `consume` predates fjord's group coordinator: it uses assign() and no group.id, so it needs
// only Metadata, ListOffsets and Fetch (the side by side now uses Kafka's ConsumerPerformance;
// this stays as `--consumers assign`). It prints one line of JSON:
//   {"records":N,"bytes":B,"seconds":S}
// where bytes counts key + value bytes (what ConsumerPerformance counts) and seconds runs from
// the first poll to the record that completes the count.
//
// `latency` runs a producer (acks=1, linger.ms=0) that sends RATE records/s of SIZE bytes for
// WARMUP_S + SECONDS seconds, and in the same JVM an assign() consumer of every partition. Each
// value starts with the System.nanoTime() of its send() call; the consumer subtracts it from
// its own nanoTime() at poll return, so one monotonic clock serves both ends. Records sent in
// the first WARMUP_S seconds are not counted (connections, metadata, JIT). It prints:
//   {"sent":N,"received":N,"lost":N,"rate":R,"p50_ms":..,"p99_ms":..,"p999_ms":..,"max_ms":..}
package fjord.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class BenchClient {
  private BenchClient() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 6 && args[0].equals("latency")) {
      Latency.run(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
          Integer.parseInt(args[5]));
      return;
    }
    if (args.length != 4) {
      System.err.println("usage: BenchClient create|consume BOOTSTRAP TOPIC N");
      System.err.println("       BenchClient latency BOOTSTRAP TOPIC RATE SECONDS SIZE");
      System.exit(2);
    }
    switch (args[0]) {
      case "create" -> create(args[1], args[2], Integer.parseInt(args[3]));
      case "consume" -> consume(args[1], args[2], Long.parseLong(args[3]));
      default -> {
        System.err.println("unknown command " + args[0]);
        System.exit(2);
      }
    }
  }

  private static void create(String bootstrap, String topic, int partitions) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(props)) {
      try {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
      } catch (ExecutionException e) {
        // A rerun against a reused data dir is not an error; anything else is.
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e;
        }
      }
      // Wait until the topic is visible with every partition, so the producer's first
      // metadata request does not race the creation.
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (true) {
        try {
          int seen =
              admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                  .size();
          if (seen == partitions) {
            return;
          }
        } catch (ExecutionException e) {
          // not visible yet
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("topic " + topic + " not ready after 30 s");
        }
        Thread.sleep(50);
      }
    }
  }

  private static void consume(String bootstrap, String topic, long records) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      long start = System.nanoTime();
      List<TopicPartition> assignment = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
        assignment.add(new TopicPartition(topic, p.partition()));
      }
      consumer.assign(assignment);
      consumer.seekToBeginning(assignment);
      long seen = 0;
      long bytes = 0;
      long deadline = start + Duration.ofSeconds(300).toNanos();
      while (seen < records) {
        if (System.nanoTime() > deadline) {
          System.err.println("timed out after " + seen + " of " + records + " records");
          System.exit(1);
        }
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<byte[], byte[]> r : batch) {
          seen++;
          bytes += (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf("{\"records\":%d,\"bytes\":%d,\"seconds\":%.6f}%n", seen, bytes, seconds);
    }
  }
}
