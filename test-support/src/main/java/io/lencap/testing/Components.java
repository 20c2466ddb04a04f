package io.lencap.testing;

import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** How an integration test treats a real component (a daemon, a guest image) it needs and cannot find. */
public final class Components {
  private Components() {}

  /**
   * Returns when nothing is missing; otherwise skips the test with the reason, or fails it when the system
   * property {@code lencap.it.require} is true (the project's test script sets it, so CI never skips).
   */
  public static void require(Optional<String> missing) {
    if (missing.isEmpty()) {
      return;
    }
    if (Boolean.getBoolean("lencap.it.require")) {
      Assertions.fail(missing.get());
    }
    Assumptions.abort(missing.get());
  }

  /** The same for a host command, found if {@code command --version} runs; {@code installedBy} names its installer. */
  public static void requireCommand(String command, String installedBy) throws InterruptedException {
    try {
      HostCommand.run(command, "--version");
    } catch (IOException e) {
      require(Optional.of(command + " is missing (" + installedBy + "): " + e.getMessage()));
    }
  }
}
