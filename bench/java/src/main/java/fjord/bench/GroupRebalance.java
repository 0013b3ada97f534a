// The consumer-group rebalance benchmark's client (bench/group-rebalance): MEMBERS stock
// kafka-clients consumers in one JVM, one thread each, subscribed to one topic of PARTITIONS
// partitions in one group, so fjord and Kafka are driven by identical code.
//
//   GroupRebalance BOOTSTRAP TOPIC PARTITIONS MEMBERS PROTOCOL REPEATS
//
// PROTOCOL: `range` (classic, eager RangeAssignor), `cooperative-sticky` (classic,
// CooperativeStickyAssignor, KIP-429) or `consumer` (KIP-848, the broker's default server
// assignor). Each repeat uses a fresh group and measures three phases:
//   join    all MEMBERS consumers start at once; time from the start until the group is stable;
//   leave   one member closes (LeaveGroup); time until the others are stable without it;
//   rejoin  one new member starts; time until all MEMBERS are stable again.
// Stable means: every partition owned by exactly one live member, every live member owns at
// least one, and sizes differ by at most one (what range, sticky and uniform all give for one
// topic; it also excludes the half-way states of cooperative and KIP-848 rebalances, where the
// new member owns some of its share already).
//
// Ownership is what the members' ConsumerRebalanceListener says: onPartitionsAssigned adds,
// onPartitionsRevoked / onPartitionsLost removes. A partition assigned to a member while another
// member still owns it is an overlap: counted, and the run fails (exit 1) after printing it.
// Each repeat prints one JSON line:
//   {"protocol":"range","repeat":1,"join_ms":..,"leave_ms":..,"rejoin_ms":..,"overlaps":0}
package fjord.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class GroupRebalance {
  /** A phase that is not stable after this long fails the run. */
  private static final long PHASE_TIMEOUT_MS = 120_000;

  private GroupRebalance() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println(
          "usage: GroupRebalance BOOTSTRAP TOPIC PARTITIONS MEMBERS PROTOCOL REPEATS");
      System.exit(2);
    }
    String bootstrap = args[0];
    String topic = args[1];
    int partitions = Integer.parseInt(args[2]);
    int members = Integer.parseInt(args[3]);
    String protocol = args[4];
    int repeats = Integer.parseInt(args[5]);
    if (!List.of("range", "cooperative-sticky", "consumer").contains(protocol)) {
      System.err.println("unknown protocol " + protocol);
      System.exit(2);
    }
    for (int repeat = 1; repeat <= repeats; repeat++) {
      String group = "bench-rebalance-" + protocol + "-" + UUID.randomUUID();
      Group g = new Group(bootstrap, topic, group, protocol, partitions);
      try {
        long joinMs = g.measure(() -> {
          for (int i = 0; i < members; i++) {
            g.start();
          }
        });
        long leaveMs = g.measure(() -> g.stopOne());
        long rejoinMs = g.measure(() -> g.start());
        int overlaps = g.overlaps();
        System.out.printf(
            "{\"protocol\":\"%s\",\"repeat\":%d,\"join_ms\":%d,\"leave_ms\":%d,"
                + "\"rejoin_ms\":%d,\"overlaps\":%d}%n",
            protocol, repeat, joinMs, leaveMs, rejoinMs, overlaps);
        if (overlaps != 0) {
          System.exit(1);
        }
      } finally {
        g.stopAll();
      }
    }
  }

  /** Who owns what, as the members' listeners report it; one lock for everything. */
  private static final class Group {
    private final String bootstrap;
    private final String topic;
    private final String groupId;
    private final String protocol;
    private final int partitions;
    private final List<Member> live = new ArrayList<>();
    private final Map<Integer, Member> owner = new HashMap<>();
    private final List<String> overlapLog = new ArrayList<>();
    private int nextMember = 0;

    Group(String bootstrap, String topic, String groupId, String protocol, int partitions) {
      this.bootstrap = bootstrap;
      this.topic = topic;
      this.groupId = groupId;
      this.protocol = protocol;
      this.partitions = partitions;
    }

    /** Runs the change and returns the milliseconds until the group is stable after it. */
    long measure(Runnable change) throws InterruptedException {
      long t0 = System.nanoTime();
      change.run();
      long deadline = t0 + PHASE_TIMEOUT_MS * 1_000_000L;
      synchronized (this) {
        while (!stable()) {
          long left = (deadline - System.nanoTime()) / 1_000_000L;
          if (left <= 0) {
            throw new IllegalStateException("group not stable after " + PHASE_TIMEOUT_MS
                + " ms: " + describe());
          }
          wait(Math.min(left, 100));
        }
      }
      return (System.nanoTime() - t0) / 1_000_000L;
    }

    synchronized void start() {
      Member m = new Member(this, "m" + nextMember++);
      live.add(m);
      m.thread.start();
    }

    /** Closes the oldest live member (it leaves the group) without waiting for it. */
    void stopOne() {
      Member m;
      synchronized (this) {
        m = live.remove(0);
      }
      m.stop();
    }

    void stopAll() throws InterruptedException {
      List<Member> all;
      synchronized (this) {
        all = new ArrayList<>(live);
        live.clear();
      }
      for (Member m : all) {
        m.stop();
      }
      for (Member m : all) {
        m.thread.join(60_000);
      }
    }

    synchronized int overlaps() {
      for (String line : overlapLog) {
        System.err.println("overlap: " + line);
      }
      return overlapLog.size();
    }

    synchronized void assigned(Member m, Collection<TopicPartition> tps) {
      for (TopicPartition tp : tps) {
        Member before = owner.put(tp.partition(), m);
        if (before != null && before != m) {
          overlapLog.add(tp + " assigned to " + m.name + " while " + before.name + " owns it");
        }
      }
      notifyAll();
    }

    synchronized void released(Member m, Collection<TopicPartition> tps) {
      for (TopicPartition tp : tps) {
        owner.remove(tp.partition(), m);
      }
      notifyAll();
    }

    private boolean stable() {
      if (owner.size() != partitions) {
        return false;
      }
      Map<Member, Integer> counts = new HashMap<>();
      for (Member m : owner.values()) {
        if (!live.contains(m)) {
          return false;
        }
        counts.merge(m, 1, Integer::sum);
      }
      if (counts.size() != live.size()) {
        return false;
      }
      int min = Integer.MAX_VALUE;
      int max = 0;
      for (int c : counts.values()) {
        min = Math.min(min, c);
        max = Math.max(max, c);
      }
      return max - min <= 1;
    }

    private String describe() {
      Map<String, Integer> counts = new HashMap<>();
      for (Member m : owner.values()) {
        counts.merge(m.name, 1, Integer::sum);
      }
      Set<String> liveNames = new HashSet<>();
      for (Member m : live) {
        liveNames.add(m.name);
      }
      return "owned " + owner.size() + "/" + partitions + ", per member " + counts + ", live "
          + liveNames;
    }

    Properties consumerProps() {
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
      p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
      p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
          ByteArrayDeserializer.class.getName());
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      if (protocol.equals("consumer")) {
        // KIP-848: the broker assigns and sets the heartbeat interval.
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
      } else {
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
            protocol.equals("range") ? RangeAssignor.class.getName()
                : CooperativeStickyAssignor.class.getName());
        // Members learn of a rebalance from their next heartbeat: 1 s (Kafka's default is 3 s)
        // keeps the figures about the coordinator rather than the client's timer.
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
      }
      return p;
    }
  }

  /** One consumer on its own thread: it polls until stopped, then closes (leaving the group). */
  private static final class Member implements ConsumerRebalanceListener {
    final Group group;
    final String name;
    final Thread thread;
    private volatile boolean stopping = false;
    private volatile KafkaConsumer<byte[], byte[]> consumer;

    Member(Group group, String name) {
      this.group = group;
      this.name = name;
      this.thread = new Thread(this::run, "member-" + name);
    }

    void stop() {
      stopping = true;
      KafkaConsumer<byte[], byte[]> c = consumer;
      if (c != null) {
        c.wakeup();
      }
    }

    private void run() {
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(group.consumerProps())) {
        consumer = c;
        c.subscribe(List.of(group.topic), this);
        while (!stopping) {
          try {
            c.poll(Duration.ofMillis(100));
          } catch (WakeupException e) {
            // stop() asked; the loop condition ends it.
          }
        }
      }
      // close() ran the revoke callback; anything left (a failed close) is released here so a
      // dead member never counts as an owner.
      synchronized (group) {
        group.owner.values().removeIf(m -> m == this);
        group.notifyAll();
      }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      group.released(this, partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      group.released(this, partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      group.assigned(this, partitions);
    }
  }
}
