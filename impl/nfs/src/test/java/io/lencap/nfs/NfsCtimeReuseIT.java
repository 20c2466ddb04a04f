package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture takes a file from its parent checkpoint unread only while its ctime shows no change: a
 * same-size rewrite that puts the old mtime back ({@code cp -p}, {@code touch -r}) is read again.
 */
class NfsCtimeReuseIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a");

  @TempDir
  Path store;

  @Test
  void aSameSizeRewriteWithItsOldMtimeIsCapturedAgain() throws Exception {
    Path a = SERVER.dir("a");
    Path f = a.resolve("data.bin");
    Files.writeString(f, "old content, 24 bytes..");
    Encapsulation job = Encapsulation.builder("ctime").resource(NfsTreeIT.nas("nas", SERVER.locator("a"))).build();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      lencap.capture(job).join();

      FileTime mtime = Files.getLastModifiedTime(f);
      Files.writeString(f, "NEW content, 24 bytes..");
      Files.setLastModifiedTime(f, mtime); // as touch -r / cp -p do: only the ctime shows the write
      Checkpoint second = lencap.capture(job).join();

      Files.writeString(f, "something else entirely, longer");
      lencap.restore(job, second.id()).join();
      assertEquals("NEW content, 24 bytes..", Files.readString(f));
    }
  }
}
