package dev.fjord.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How the scenarios make their clients: byte-array producers and consumers, and the read helper
 * that assigns one partition by hand (no consumer group) and reads it from the beginning.
 */
final class Clients {
  private Clients() {}

  /** How long a read waits for the records it expects before it gives up. */
  static final Duration READ_DEADLINE = Duration.ofSeconds(20);

  static KafkaProducer<byte[], byte[]> producer(Main.Context ctx, Map<String, Object> extra) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, ctx.bootstrap());
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "compat-java-" + ctx.runId());
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.putAll(extra);
    return new KafkaProducer<>(props);
  }

  static KafkaConsumer<byte[], byte[]> consumer(Main.Context ctx, Map<String, Object> extra) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, ctx.bootstrap());
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "compat-java-" + ctx.runId());
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    // No group.id: partitions are assigned by hand and nothing is committed.
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.putAll(extra);
    return new KafkaConsumer<>(props);
  }

  static Admin admin(Main.Context ctx) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, ctx.bootstrap());
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "compat-java-admin-" + ctx.runId());
    return Admin.create(props);
  }

  static void createTopic(Main.Context ctx, int partitions) throws Exception {
    try (Admin admin = admin(ctx)) {
      admin.createTopics(List.of(new NewTopic(ctx.topic(), partitions, (short) 1))).all().get();
    }
  }

  /** Reads `partition` of the scenario's topic from its start until `count` records arrived. */
  static List<ConsumerRecord<byte[], byte[]>> read(
      Main.Context ctx, int partition, int count, Map<String, Object> extra) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    TopicPartition tp = new TopicPartition(ctx.topic(), partition);
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(ctx, extra)) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + READ_DEADLINE.toNanos();
      while (out.size() < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          out.add(r);
        }
      }
    }
    return out;
  }

  static List<ConsumerRecord<byte[], byte[]>> read(Main.Context ctx, int partition, int count) {
    return read(ctx, partition, count, Map.of());
  }

  /**
   * Reads `partition` from its start up to the end offset it has when the read begins: for
   * partitions whose record count the scenario does not know in advance (keyed messages).
   */
  static List<ConsumerRecord<byte[], byte[]>> readToEnd(Main.Context ctx, int partition) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    TopicPartition tp = new TopicPartition(ctx.topic(), partition);
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(ctx, Map.of())) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(10)).get(tp);
      long deadline = System.nanoTime() + READ_DEADLINE.toNanos();
      while (consumer.position(tp) < end && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          out.add(r);
        }
      }
    }
    return out;
  }
}
