package io.lencap.cli;

import org.jspecify.annotations.Nullable;

/** What every command needs of picocli's injection, checked once: picocli sets these before {@code call()}. */
final class Commands {
  private Commands() {}

  static LencapCli cli(@Nullable LencapCli cli) {
    if (cli == null) {
      throw new IllegalStateException("a command runs under the lencap command");
    }
    return cli;
  }

  static <T> T given(@Nullable T parameter) {
    if (parameter == null) {
      throw new IllegalStateException("picocli sets required parameters before call()");
    }
    return parameter;
  }
}
