package dev.fjord.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What every client sends and expects: the Java copy of harness/scenario_data.py. Keep the two
 * equal, so that every client runs the same scenario.
 */
final class ScenarioData {
  private ScenarioData() {}

  static final int SEED_COUNT = 10;
  static final int KEYED_COUNT = 30;
  static final int KEY_COUNT = 10;
  static final List<String> CODECS = List.of("gzip", "snappy", "lz4", "zstd");
  static final int CODEC_MESSAGES = 100;
  static final int LARGE_OK = 900 * 1000;
  static final int LARGE_REFUSED = 2 * 1000 * 1000;
  static final int IDEMPOTENT_COUNT = 400;
  static final int LONG_POLL_WAIT_MS = 5000;
  static final long LONG_POLL_BOUND_MS = 1000;

  /**
   * The seed guide's sensor readings, serialised the way Python's json.dumps writes them
   * ({@code {"capteur": "temp-0", "valeur": 20.0, "ts": 1700000000}}).
   */
  static List<byte[]> seedValues() {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < SEED_COUNT; i++) {
      // valeur is 20.0 + i/2: always one decimal, so this matches Python's repr of the float.
      String valeur = String.format(Locale.ROOT, "%.1f", 20.0 + i / 2.0);
      String json =
          String.format(
              "{\"capteur\": \"temp-%d\", \"valeur\": %s, \"ts\": %d}", i % 3, valeur, 1_700_000_000L + i);
      out.add(json.getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }

  static String keyOf(int i) {
    return "k" + (i % KEY_COUNT);
  }

  static String keyedValue(int i) {
    return "v" + i;
  }

  /** Whole seconds an hour back: inside Kafka's default timestamp bounds. */
  static long timestampsBase() {
    return (System.currentTimeMillis() / 1000 - 3600) * 1000;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }
}
