package dev.fjord.compat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * Entry point of the Java kafka-clients driver: {@code Main CLIENT SCENARIO} with BOOTSTRAP,
 * TOPIC and RUN_ID in the environment (the driver contract in tests/compat/SCENARIOS.md).
 *
 * <p>Exit codes: 0 the scenario passed, 1 it failed, 2 bad invocation, 3 the client cannot do
 * what the scenario asks (the harness reports a skip). The last line on stderr gives the reason.
 */
public final class Main {
  static final int PASSED = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;
  static final int UNSUPPORTED = 3;

  private Main() {}

  /** A scenario's named entry point. */
  @FunctionalInterface
  interface Scenario {
    void run(Context ctx) throws Exception;
  }

  public static void main(String[] args) {
    // Before any logger exists: the client's own WARN/ERROR lines go to stderr, INFO is noise.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    System.exit(run(args));
  }

  static int run(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: Main CLIENT SCENARIO (CLIENT is java)");
      return USAGE;
    }
    if (!args[0].equals("java")) {
      System.err.println("unknown client " + args[0] + ": this driver is for java");
      return USAGE;
    }
    if (args[1].equals("group-member")) {
      // Not a scenario: a long-running group member the harness drives (SCENARIOS.md).
      return GroupMember.run();
    }
    if (args[1].startsWith("txn-")) {
      // A transaction role: prints events for the harness, which checks them (Transactions).
      return Transactions.run(args[1]);
    }
    Map<String, Scenario> scenarios =
        Map.of(
            "seed", Scenarios::seed,
            "keyed", Scenarios::keyed,
            "headers", Scenarios::headers,
            "compression", Scenarios::compression,
            "large", Scenarios::large,
            "idempotent-restart", Scenarios::idempotentRestart,
            "admin", Scenarios::admin,
            "timestamps", Scenarios::timestamps,
            "long-poll", Scenarios::longPoll,
            // Java only (harness/test_group_admin.py): the AdminClient's group-offset calls.
            "group-admin", GroupAdmin::run);
    Scenario scenario = scenarios.get(args[1]);
    if (scenario == null) {
      System.err.println("unknown scenario " + args[1]);
      return USAGE;
    }
    Context ctx;
    try {
      ctx = Context.fromEnv();
    } catch (IllegalStateException e) {
      System.err.println(e.getMessage());
      return USAGE;
    }
    try {
      scenario.run(ctx);
      System.out.println("PASS " + args[1]);
      return PASSED;
    } catch (Unsupported e) {
      System.err.println(e.getMessage());
      return UNSUPPORTED;
    } catch (Throwable e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      StringWriter trace = new StringWriter();
      cause.printStackTrace(new PrintWriter(trace));
      System.err.print(trace);
      // The harness shows the last stderr line as the reason: keep it one line.
      String reason = cause instanceof Check.Failure ? cause.getMessage() : cause.toString();
      System.err.println("FAIL " + args[1] + ": " + reason.replace('\n', ' '));
      return FAILED;
    }
  }

  /** What the scenario is told by the harness. */
  record Context(String bootstrap, String topic, String runId) {
    static Context fromEnv() {
      return new Context(env("BOOTSTRAP"), env("TOPIC"), env("RUN_ID"));
    }

    private static String env(String name) {
      String value = System.getenv(name);
      if (value == null || value.isEmpty()) {
        throw new IllegalStateException("environment variable " + name + " is not set");
      }
      return value;
    }
  }

  /** Thrown when the client has no way to do what the scenario asks; the driver exits 3. */
  static final class Unsupported extends Exception {
    private static final long serialVersionUID = 1L;

    Unsupported(String reason) {
      super(reason);
    }
  }
}
