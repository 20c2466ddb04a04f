package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The provider TCK against a real NFS-Ganesha: each test gets a fresh small tree in its own directory. */
class NfsProviderContractIT extends ResourceProviderContract {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("tck");
  private static final AtomicInteger N = new AtomicInteger();
  private final NfsProvider provider = new NfsProvider();

  @Override
  protected ResourceProvider provider() {
    return provider;
  }

  @Override
  protected Resource resource() throws Exception {
    String name = "t" + N.incrementAndGet();
    Path dir = Files.createDirectory(SERVER.dir("tck").resolve(name));
    TreeMaker m = new TreeMaker(N.get());
    Path sub = Files.createDirectory(dir.resolve("sub"));
    m.dirs.add(sub);
    for (int i = 0; i < 20; i++) {
      m.file((i % 2 == 0 ? dir : sub).resolve("f" + i), i == 0 ? 300_000 : 10 + i * 100);
    }
    Files.createSymbolicLink(sub.resolve("link"), Path.of("../f0"));
    m.finish(dir);
    return Resource.builder("nas").type(ResourceType.FILE_TREE).locator(SERVER.locator("tck") + "/" + name).build();
  }

  /** An empty directory beside the tree, as a drill's sandbox (an NFS restore needs its root to exist). */
  @Override
  protected Optional<Resource> sandbox(Resource original) throws Exception {
    String name = "sandbox" + N.incrementAndGet();
    Files.createDirectory(SERVER.dir("tck").resolve(name));
    return Optional.of(Resource.builder("nas").type(ResourceType.FILE_TREE).locator(SERVER.locator("tck") + "/" + name)
        .build());
  }

  @Override
  protected void assertDiscarded(Resource sandbox) throws Exception {
    super.assertDiscarded(sandbox);
    assertFalse(Files.exists(Path.of(sandbox.locator().getPath()), LinkOption.NOFOLLOW_LINKS), "the sandbox is left");
  }

  @Override
  protected void mutate(Resource resource) throws Exception {
    Path dir = Path.of(resource.locator().getPath());
    Files.writeString(dir.resolve("f2"), "changed");
    Files.writeString(dir.resolve("sub/new"), "new file");
    Files.delete(dir.resolve("f4"));
  }

  @Override
  protected String fingerprint(Resource resource) throws Exception {
    return LocalTree.walk(Path.of(resource.locator().getPath())).toString();
  }
}
