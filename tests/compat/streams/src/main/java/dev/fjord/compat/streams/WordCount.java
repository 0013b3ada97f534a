package dev.fjord.compat.streams;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The word count of the `streams-eos` scenario (tests/compat/SCENARIOS.md): lines from
 * INPUT_TOPIC are split into words, regrouped by word (a repartition topic), counted (a state
 * store with a changelog topic) and every new count is written to OUTPUT_TOPIC (key: the word,
 * value: the count as a big-endian long), with processing.guarantee=exactly_once_v2.
 *
 * <p>Environment: BOOTSTRAP, INPUT_TOPIC, OUTPUT_TOPIC, APP_ID (application.id, so also the
 * group and the prefix of the internal topics), STATE_DIR. Prints one JSON line per event on
 * stdout ({@code state} on each state change, {@code error}, {@code stopped}); stdin closed
 * closes the application and exits 0. The harness checks the output.
 */
public final class WordCount {
  private WordCount() {}

  public static void main(String[] args) throws InterruptedException {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    Map<String, String> env = System.getenv();
    String input = env.get("INPUT_TOPIC");
    String output = env.get("OUTPUT_TOPIC");

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, env.get("APP_ID"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, env.get("BOOTSTRAP"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, env.get("STATE_DIR"));
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    // No record cache: every count update is forwarded, so the output of one word is exactly
    // 1, 2, ..., n and a duplicate or a gap shows.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    // A restarted instance takes over from a killed one after Kafka's smallest session.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
        .count(Materialized.as("counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));

    CountDownLatch done = new CountDownLatch(1);
    int[] exit = {0};
    try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
      streams.setStateListener((now, before) -> emit("state", "\"state\":\"" + now + "\""));
      streams.setUncaughtExceptionHandler(
          e -> {
            emit("error", "\"message\":" + json(e.toString()));
            exit[0] = 1;
            done.countDown();
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
          });
      Thread stdin =
          new Thread(
              () -> {
                try {
                  System.in.transferTo(OutputStream.nullOutputStream());
                } catch (IOException e) {
                  // A closed stdin is the same signal as its end.
                }
                done.countDown();
              },
              "stdin-watch");
      stdin.setDaemon(true);
      stdin.start();
      streams.start();
      done.await();
      streams.close(Duration.ofSeconds(20));
    }
    emit(exit[0] == 0 ? "stopped" : "failed", null);
    System.exit(exit[0]);
  }

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

  static String json(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
