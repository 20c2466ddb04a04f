package io.lencap.nfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Names as bytes on the server's own file system, through {@code bash}: Java maps file names through the
 * JVM's {@code sun.jnu.encoding} and cannot create or list a name that is not valid in it. Scripts name
 * files with {@code printf} octal escapes ({@code $(printf 'latin1-\351\377.bin')}).
 */
final class RawTree {
  private RawTree() {}

  /** Runs {@code script} with bash in {@code dir}; fails with its output unless it exits 0. */
  static String sh(Path dir, String script) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("bash", "-c", "set -e\nexport LC_ALL=C # bytes, not characters\n" + script).directory(dir.toFile())
        .redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("bash failed in " + dir + ": " + script + "\n"
          + new String(out, StandardCharsets.ISO_8859_1));
    }
    return new String(out, StandardCharsets.ISO_8859_1); // one char per byte: names compare exactly
  }

  /**
   * Every entry under {@code dir} by its name bytes (one char per byte, non-ASCII shown as {@code \xNN}),
   * with its kind and content digest or symlink target; two equal results are equal trees, names exact.
   */
  static List<String> snapshot(Path dir) throws IOException, InterruptedException {
    String out = sh(dir, """
        find . -mindepth 1 -print0 | sort -z | while IFS= read -r -d '' f; do
          printf '%s ' "$f"
          if [ -L "$f" ]; then printf 'link->%s' "$(readlink "$f")"
          elif [ -d "$f" ]; then printf 'dir'
          else printf 'file:'; sha256sum < "$f" | cut -c1-16 | tr -d "\\n"; fi
          printf '\\0'
        done
        """);
    return List.of(out.split("\0")).stream().filter(s -> !s.isEmpty()).map(RawTree::visible).toList();
  }

  private static String visible(String latin1) {
    StringBuilder sb = new StringBuilder();
    for (char c : latin1.toCharArray()) {
      sb.append(c < 0x80 && c != '\n' ? String.valueOf(c) : String.format("\\x%02x", (int) c));
    }
    return sb.toString();
  }
}
