// End-to-end latency at a fixed produce rate: see the `latency` command in BenchClient.java.
//
// Pacing: the producer thread computes how many records are due since the start
// (elapsed * rate) and sends them, then parks ~50 µs; so the rate holds on average even when a
// park oversleeps, and a stall shows up as a burst of late sends whose latency counts from the
// actual send() call (this measures the broker path, not the pacer's coordinated omission).
package fjord.bench;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

final class Latency {
  static final int WARMUP_S = 5;
  /** How long the consumer keeps polling for stragglers after the producer's last send. */
  static final Duration DRAIN = Duration.ofSeconds(30);

  private Latency() {}

  static void run(String bootstrap, String topic, int rate, int seconds, int size)
      throws Exception {
    if (size < 8) {
      throw new IllegalArgumentException("SIZE must hold the 8-byte timestamp");
    }
    long warmupCount = (long) rate * WARMUP_S;
    long total = warmupCount + (long) rate * seconds;
    long[] latencyNanos = new long[(int) (total - warmupCount)];
    AtomicLong sent = new AtomicLong();

    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.ACKS_CONFIG, "1");
    // Kafka 4 clients default to linger.ms=5, which would add up to 5 ms to every figure.
    pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());

    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
      List<TopicPartition> assignment = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
        assignment.add(new TopicPartition(topic, p.partition()));
      }
      consumer.assign(assignment);
      consumer.seekToBeginning(assignment);
      // Settle the consumer's positions before the first send, so the first records are not
      // charged for the ListOffsets round trips.
      consumer.poll(Duration.ofMillis(200));
      producer.partitionsFor(topic);

      Thread sender = new Thread(() -> {
        long start = System.nanoTime();
        long i = 0;
        byte[] template = new byte[size];
        while (i < total) {
          long due = Math.min(total, (System.nanoTime() - start) * rate / 1_000_000_000L);
          while (i < due) {
            byte[] value = template.clone();
            ByteBuffer.wrap(value).putLong(System.nanoTime());
            producer.send(new ProducerRecord<>(topic, value));
            i++;
          }
          sent.set(i);
          LockSupport.parkNanos(50_000);
        }
        producer.flush();
      }, "latency-sender");
      sender.start();

      long received = 0;
      long counted = 0;
      long drainUntil = Long.MAX_VALUE;
      while (received < total && System.nanoTime() < drainUntil) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          long now = System.nanoTime();
          received++;
          if (received > warmupCount && counted < latencyNanos.length) {
            latencyNanos[(int) counted++] = now - ByteBuffer.wrap(r.value()).getLong();
          }
        }
        if (!sender.isAlive() && drainUntil == Long.MAX_VALUE) {
          drainUntil = System.nanoTime() + DRAIN.toNanos();
        }
      }
      sender.join();
      long[] got = Arrays.copyOf(latencyNanos, (int) counted);
      Arrays.sort(got);
      System.out.printf(
          "{\"sent\":%d,\"received\":%d,\"lost\":%d,\"rate\":%d,\"seconds\":%d,"
              + "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}%n",
          sent.get(), received, sent.get() - received, rate, seconds, pct(got, 0.50),
          pct(got, 0.99), pct(got, 0.999), got.length == 0 ? Double.NaN : got[got.length - 1] / 1e6);
    }
  }

  /** Nearest-rank percentile, in milliseconds. */
  private static double pct(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1e6;
  }
}
