package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.tck.BlobBackendContract;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalBackendTest extends BlobBackendContract {
  @TempDir
  Path root;

  @Override
  protected BlobBackend newBackend() throws Exception {
    return new LocalBackend(Files.createDirectories(root.resolve("store")));
  }

  /** The backend remembers the directories it made; one removed behind its back is made again, not an error. */
  @Test
  void aDirectoryRemovedBehindTheBackendIsMadeAgain() throws Exception {
    Path store = Files.createDirectories(root.resolve("removed"));
    LocalBackend backend = new LocalBackend(store);
    byte[] one = "one".getBytes(StandardCharsets.UTF_8);
    assertTrue(backend.putIfAbsent("chunks/ab/ab01", one));
    Files.delete(store.resolve("chunks/ab/ab01"));
    Files.delete(store.resolve("chunks/ab"));
    assertTrue(backend.putIfAbsent("chunks/ab/ab02", one));
    backend.put("chunks/ab/ab03", one);
    assertArrayEquals(one, backend.get("chunks/ab/ab02").orElseThrow());
    assertArrayEquals(one, backend.get("chunks/ab/ab03").orElseThrow());
    try (Stream<Path> files = Files.list(store.resolve("chunks/ab"))) {
      assertEquals(List.of("ab02", "ab03"), files.map(p -> p.getFileName().toString()).sorted().toList(),
          "no temporary file left behind");
    }
  }

  /** A flush that fails leaves what it did not sync for the next flush, which the commit then retries. */
  @Test
  void aFailedFlushKeepsItsFilesForTheNext() throws Exception {
    Path store = Files.createDirectories(root.resolve("failed"));
    LocalBackend backend = new LocalBackend(store);
    byte[] one = "one".getBytes(StandardCharsets.UTF_8);
    backend.put("manifests/m1", one);
    backend.put("chunks/cd/cd01", one);
    Files.delete(store.resolve("chunks/cd/cd01"));
    Files.delete(store.resolve("chunks/cd"));
    assertThrows(NoSuchFileException.class, backend::flush, "a directory that vanished cannot be made durable");
    assertEquals(4, backend.unflushed(), "two files and their two directories still wait");
    Files.createDirectories(store.resolve("chunks/cd"));
    backend.flush();
    assertEquals(0, backend.unflushed());
  }

  /** A listing walks the directories in parallel: it keeps to the prefix, and skips temporary files and links. */
  @Test
  void aListingKeepsToThePrefixAndSkipsTempsAndLinks() throws Exception {
    Path store = Files.createDirectories(root.resolve("listed"));
    LocalBackend backend = new LocalBackend(store);
    byte[] one = "one".getBytes(StandardCharsets.UTF_8);
    for (String key : List.of("chunks/ab/ab01", "chunks/ab/ab02", "chunks/ac/ac01", "chunks/cd/cd01", "deltas/ab/ab03")) {
      backend.put(key, one);
    }
    Files.write(store.resolve("chunks/ab/ab04.1234.tmp"), one);
    Files.createSymbolicLink(store.resolve("chunks/ab/ab05"), store.resolve("chunks/ab/ab01"));
    Files.createSymbolicLink(store.resolve("chunks/ae"), store.resolve("chunks/ab"));
    assertEquals(List.of("chunks/ab/ab01", "chunks/ab/ab02", "chunks/ac/ac01"),
        backend.list("chunks/a").stream().map(BlobInfo::key).sorted().toList());
    assertEquals(4, backend.list("chunks/").size());
    assertEquals(5, backend.list("").size());
    assertEquals(List.of(), backend.list("none/"));
    assertEquals(3, backend.list("chunks/ab/ab01").get(0).size());
  }
}
