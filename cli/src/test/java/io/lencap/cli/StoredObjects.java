package io.lencap.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The objects a local store holds chunks in: chunks stored alone ({@code chunks/}) and packs of small ones. */
final class StoredObjects {
  private StoredObjects() {}

  /** Every chunk and pack file under {@code store}, in path order. */
  static List<Path> of(Path store) throws IOException {
    try (Stream<Path> files = Stream.concat(walk(store.resolve("chunks")), walk(store.resolve("packs")))) {
      return files.filter(Files::isRegularFile).sorted().toList();
    }
  }

  /** Whether {@code object} is a chunk stored alone, named by its id (not a pack). */
  static boolean isWholeChunk(Path object) {
    return object.getParent().getParent().getFileName().toString().equals("chunks");
  }

  private static Stream<Path> walk(Path dir) throws IOException {
    return Files.isDirectory(dir) ? Files.walk(dir) : Stream.empty();
  }
}
