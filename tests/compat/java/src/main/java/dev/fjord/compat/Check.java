package dev.fjord.compat;

import java.util.Objects;

/** Assertions of the scenarios: a failed one ends the scenario with its message as the reason. */
final class Check {
  private Check() {}

  /** A scenario's expectation that did not hold. */
  static final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Failure(String message) {
      super(message);
    }
  }

  static void that(boolean condition, String message) {
    if (!condition) {
      throw new Failure(message);
    }
  }

  static void equal(Object expected, Object actual, String what) {
    if (!Objects.equals(expected, actual)) {
      throw new Failure(what + ": expected " + expected + ", got " + actual);
    }
  }
}
