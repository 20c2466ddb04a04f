package io.lencap.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/** The checkout the tests run in, for tests that check the repository's own files. */
final class ProjectRoot {
  private ProjectRoot() {}

  static Path find() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("bom/pom.xml"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no project root (with bom/pom.xml) above " + Path.of("").toAbsolutePath());
  }
}
