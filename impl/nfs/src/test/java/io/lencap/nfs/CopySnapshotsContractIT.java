package io.lencap.nfs;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.tck.StorageSnapshotContract;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The StorageSnapshot TCK on the NFS tests' stand-in {@link CopySnapshots}: images are copies inside
 * another export of a real NFS-Ganesha, read where the server keeps them.
 */
class CopySnapshotsContractIT extends StorageSnapshotContract {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("tree", "images");
  static int changes;

  @BeforeAll
  static void fill() throws Exception {
    new TreeMaker(5).build(SERVER.dir("tree"), 40);
  }

  @Override
  protected StorageSnapshot snapshots() {
    return new CopySnapshots();
  }

  @Override
  protected Resource resource() {
    return Resource.builder("nas").type(ResourceType.FILE_TREE).locator(SERVER.locator("tree"))
        .property("snapshots", "copy").property("snapshots.dir", SERVER.dir("images").toString()).build();
  }

  @Override
  protected byte[] read(URI locator) throws Exception {
    return LocalTree.walk(Path.of(locator.getPath())).toString().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  protected void change() throws Exception {
    Files.writeString(SERVER.dir("tree").resolve("changed.txt"), "change " + ++changes);
  }
}
