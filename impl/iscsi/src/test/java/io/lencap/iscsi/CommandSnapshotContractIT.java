package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.tck.StorageSnapshotContract;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The StorageSnapshot TCK on core's command-driven snapshot (property {@code snapshot.command}) with a shell
 * script that does what {@link RbdSnapshots} does, on the same tgt gateway over Ceph RBD; and one capture
 * through the engine, which finds the command snapshot by itself. The command cannot say what changed between
 * images, so the engine keeps none.
 */
class CommandSnapshotContractIT extends StorageSnapshotContract {
  @TempDir
  static Path dir;
  static TgtRbdGateway gateway;
  static Resource lun;
  static Resource commandLun;
  static String image;
  static long seed;

  @BeforeAll
  static void script() throws Exception {
    gateway = new TgtRbdGateway(dir);
    lun = gateway.randomLun("cmd-" + ProcessHandle.current().pid(), 8 << 20, 3);
    Path script = dir.resolve("rbd-tgt-snapshot.sh");
    try (InputStream in = CommandSnapshotContractIT.class.getResourceAsStream("/rbd-tgt-snapshot.sh")) {
      Files.copy(in, script);
    }
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    image = lun.property(RbdSnapshots.IMAGE).orElseThrow();
    commandLun = Resource.builder("lun").type("block").locator(lun.locator())
        .property("snapshot.command", script.toString()).property("snapshot.image", image)
        .property("snapshot.control", lun.property(RbdSnapshots.CONTROL).orElseThrow())
        .property("snapshot.conf", TgtRbdGateway.CEPH_CONF).build();
  }

  @Override
  protected StorageSnapshot snapshots() {
    return ServiceLoader.load(StorageSnapshot.class).stream().map(ServiceLoader.Provider::get)
        .filter(s -> s.getClass().getName().equals("io.lencap.core.CommandSnapshot")).findFirst().orElseThrow();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Override
  protected Resource resource() {
    return commandLun;
  }

  @Override
  protected byte[] read(URI locator) throws Exception {
    return RbdSnapshotsContractIT.digest(locator);
  }

  @Override
  protected void change() throws Exception {
    RbdSnapshotsContractIT.change(lun, ++seed);
  }

  @Test
  void theEngineCutsWithTheCommand() throws Exception {
    Encapsulation job = Encapsulation.builder("command-snapshot").resource(commandLun).build();
    byte[] atCut = read(commandLun.locator());
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store")).build()) {
      Checkpoint cp = lencap.capture(job).join();
      assertEquals("storage-snapshot", cp.member("lun").orElseThrow().method());
      assertEquals(List.of(), gateway.snapshots(image.substring(image.indexOf('/') + 1)),
          "the image was deleted: the command cannot diff, so none is kept");
      change();
      lencap.restore(job, cp.id()).join();
      assertArrayEquals(atCut, read(commandLun.locator()), "restored to the LUN at the cut");
    }
  }
}
