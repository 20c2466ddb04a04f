package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Placement;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Names that are not valid UTF-8 are captured and restored as their exact bytes, against a real
 * NFS-Ganesha: two Latin-1 names that UTF-8 decoding makes equal stay two files, directories and symlink
 * targets with such bytes round-trip, and extra entries with such names are removed by a restore.
 */
class NfsNamesIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a", "b");

  /** Two names equal after UTF-8 decoding (both "latin1-\uFFFD\uFFFD.bin"), a directory and a link. */
  private static final String TREE = """
      printf 'one' > "$(printf 'latin1-\\351\\377.bin')"
      printf 'two' > "$(printf 'latin1-\\350\\377.bin')"
      mkdir "$(printf 'dir-\\351')"
      printf 'three' > "$(printf 'dir-\\351/f\\377')"
      ln -s "$(printf 'latin1-\\351\\377.bin')" link
      printf 'utf8' > "$(printf 'caf\\303\\251')"
      """;

  @TempDir
  Path store;
  private Path a;
  private Encapsulation job;

  @BeforeEach
  void freshExports() throws Exception {
    a = SERVER.dir("a");
    for (Path e : List.of(a, SERVER.dir("b"))) {
      try (Stream<Path> s = Files.list(e)) {
        s.forEach(GaneshaServer::deleteTree);
      }
    }
    job = Encapsulation.builder("names").resource(NfsTreeIT.nas("nas", SERVER.locator("a"))).build();
  }

  @Test
  void latin1NamesRoundTripExactlyInPlaceAndElsewhere() throws Exception {
    RawTree.sh(a, TREE);
    List<String> captured = RawTree.snapshot(a);
    assertEquals(6, captured.size(), captured.toString());
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();

      // Change and remove the captured entries; add extra ones whose names are not UTF-8 either.
      RawTree.sh(a, """
          rm "$(printf 'latin1-\\351\\377.bin')"
          printf 'TWO' > "$(printf 'latin1-\\350\\377.bin')"
          printf 'extra' > "$(printf 'extra-\\376')"
          mkdir "$(printf 'extra-dir-\\375')"
          printf 'x' > "$(printf 'extra-dir-\\375/g\\374')"
          """);
      assertNotEquals(captured, RawTree.snapshot(a));

      lencap.restore(job, cp.id()).join();
      assertEquals(captured, RawTree.snapshot(a), "in-place restore");

      lencap.restore(job, cp.id(), Placement.builder().move("nas", URI.create(SERVER.locator("b"))).build())
          .join();
      assertEquals(captured, RawTree.snapshot(SERVER.dir("b")), "restore onto another export");
    }
  }

  @Test
  void twoNamesThatDecodeAlikeAreTwoEntries() throws Exception {
    RawTree.sh(a, TREE);
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      // one + two + three + utf8: 3 + 3 + 5 + 4 bytes; a collision would lose one of the first two
      assertEquals(15, cp.member("nas").orElseThrow().logicalBytes());
    }
  }
}
