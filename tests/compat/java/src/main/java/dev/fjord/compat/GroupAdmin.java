package dev.fjord.compat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupSubscribedToTopicException;
import org.apache.kafka.common.errors.UnknownMemberIdException;

/**
 * The {@code group-admin} scenario (SCENARIOS.md): the AdminClient's group-offset calls that
 * kafka-consumer-groups and UIs use, against a group that a real consumer filled.
 *
 * <ol>
 *   <li>3 partitions, 10 records each; a member of group G reads all 30, commits, leaves.
 *   <li>{@code listConsumerGroupOffsets}: 10 on each partition.
 *   <li>{@code alterConsumerGroupOffsets} while G is empty: p0 to offset 3 with metadata, p1 to
 *       the latest offset (resolved with {@code listOffsets}, as the tools' --to-latest does);
 *       listed back exactly.
 *   <li>{@code deleteConsumerGroupOffsets} of p2: it is no longer listed.
 *   <li>A new member of G starts where the offsets say: p0 from 3 (7 records), p1 nothing, p2
 *       from the beginning (auto.offset.reset=earliest, 10 records).
 *   <li>While it is active, altering is refused with UNKNOWN_MEMBER_ID and deleting the offsets
 *       of its subscribed topic with GROUP_SUBSCRIBED_TO_TOPIC, as Kafka does.
 * </ol>
 */
final class GroupAdmin {
  private GroupAdmin() {}

  private static final int PARTITIONS = 3;
  private static final int PER_PARTITION = 10;

  static void run(Main.Context ctx) throws Exception {
    Clients.createTopic(ctx, PARTITIONS);
    try (KafkaProducer<byte[], byte[]> producer = Clients.producer(ctx, Map.of("acks", "all"))) {
      for (int p = 0; p < PARTITIONS; p++) {
        for (int i = 0; i < PER_PARTITION; i++) {
          producer.send(new ProducerRecord<>(ctx.topic(), p, null, ("v" + p + "-" + i).getBytes()));
        }
      }
      producer.flush();
    }
    String group = "admin-" + ctx.runId();
    TopicPartition p0 = new TopicPartition(ctx.topic(), 0);
    TopicPartition p1 = new TopicPartition(ctx.topic(), 1);
    TopicPartition p2 = new TopicPartition(ctx.topic(), 2);

    // 1. A member reads everything and commits it.
    Map<Integer, Integer> first = consume(ctx, group, PARTITIONS * PER_PARTITION, null);
    Check.equal(Map.of(0, PER_PARTITION, 1, PER_PARTITION, 2, PER_PARTITION), first, "first read");

    try (Admin admin = Clients.admin(ctx)) {
      // 2. list
      Check.equal(
          Map.of(p0, 10L, p1, 10L, p2, 10L), offsets(admin, group), "offsets after the first read");

      // 3. alter while empty: an explicit offset with metadata, and "latest" resolved first.
      ListOffsetsResultInfo latest = admin.listOffsets(Map.of(p1, OffsetSpec.latest())).partitionResult(p1).get();
      Check.equal(10L, latest.offset(), "latest offset of p1");
      admin
          .alterConsumerGroupOffsets(
              group,
              Map.of(p0, new OffsetAndMetadata(3, "reset-by-admin"), p1, new OffsetAndMetadata(0)))
          .all()
          .get();
      admin.alterConsumerGroupOffsets(group, Map.of(p1, new OffsetAndMetadata(latest.offset()))).all().get();
      Map<TopicPartition, OffsetAndMetadata> listed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      Check.equal(Map.of(p0, 3L, p1, 10L, p2, 10L), plain(listed), "offsets after alter");
      Check.equal("reset-by-admin", listed.get(p0).metadata(), "metadata of p0");

      // 4. delete p2's offset.
      admin.deleteConsumerGroupOffsets(group, Set.of(p2)).all().get();
      Check.equal(Map.of(p0, 3L, p1, 10L), offsets(admin, group), "offsets after delete");

      // 5 and 6: a member starts where the offsets say; while it is active, admin changes are
      // refused.
      Map<Integer, Integer> second =
          consume(
              ctx,
              group,
              (PER_PARTITION - 3) + PER_PARTITION,
              () -> {
                refused(
                    () -> admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(0))).all().get(),
                    UnknownMemberIdException.class,
                    "alter of an active group");
                refused(
                    () -> admin.deleteConsumerGroupOffsets(group, Set.of(p0)).all().get(),
                    GroupSubscribedToTopicException.class,
                    "delete of an active group's subscribed topic");
              });
      Check.equal(Map.of(0, PER_PARTITION - 3, 2, PER_PARTITION), second, "second read");
      Check.equal(Map.of(p0, 10L, p1, 10L, p2, 10L), offsets(admin, group), "offsets at the end");
    }
  }

  @FunctionalInterface
  interface Step {
    void run() throws Exception;
  }

  /**
   * A member of `group` reads until `count` records came (and no more arrive for a second),
   * committing each batch; `whileActive` runs once the member has its assignment. Returns the
   * records read per partition.
   */
  private static Map<Integer, Integer> consume(Main.Context ctx, String group, int count, Step whileActive)
      throws Exception {
    Map<Integer, Integer> got = new TreeMap<>();
    int total = 0;
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(ctx, props)) {
      consumer.subscribe(List.of(ctx.topic()));
      long deadline = System.nanoTime() + Clients.READ_DEADLINE.toNanos();
      long quietUntil = Long.MAX_VALUE;
      boolean ranStep = whileActive == null;
      while (System.nanoTime() < deadline && System.nanoTime() < quietUntil) {
        var records = consumer.poll(Duration.ofMillis(200));
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
          got.merge(r.partition(), 1, Integer::sum);
          total++;
          commit.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        if (!commit.isEmpty()) {
          consumer.commitSync(commit);
        }
        if (!ranStep && consumer.assignment().size() == PARTITIONS) {
          whileActive.run();
          ranStep = true;
        }
        if (total >= count && ranStep && quietUntil == Long.MAX_VALUE) {
          // Anything past the expected count would be a redelivery: wait a little for it.
          quietUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        }
      }
      Check.that(ranStep, "the member never owned the " + PARTITIONS + " partitions");
    }
    return got;
  }

  private static Map<TopicPartition, Long> offsets(Admin admin, String group) throws Exception {
    return plain(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get());
  }

  private static Map<TopicPartition, Long> plain(Map<TopicPartition, OffsetAndMetadata> offsets) {
    Map<TopicPartition, Long> out = new HashMap<>();
    offsets.forEach(
        (tp, om) -> {
          if (om != null) {
            out.put(tp, om.offset());
          }
        });
    return out;
  }

  private static void refused(Step step, Class<? extends Throwable> expected, String what) throws Exception {
    try {
      step.run();
    } catch (ExecutionException e) {
      Check.that(
          expected.isInstance(e.getCause()),
          what + ": expected " + expected.getSimpleName() + ", got " + e.getCause());
      return;
    }
    throw new Check.Failure(what + ": accepted, expected " + expected.getSimpleName());
  }
}
