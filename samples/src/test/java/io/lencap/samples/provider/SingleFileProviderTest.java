package io.lencap.samples.provider;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The sample provider passes the provider TCK against a real file of a few MiB. */
class SingleFileProviderTest extends ResourceProviderContract {
  private int created;

  @Override
  protected ResourceProvider provider() {
    return new SingleFileProvider();
  }

  @Override
  protected Resource resource() throws Exception {
    byte[] content = new byte[3 << 20];
    new Random(42).nextBytes(content);
    Path file = Files.write(workDirectory.resolve("state-" + created++ + ".bin"), content);
    return Resource.of("state", ResourceType.FILE_TREE, "onefile://" + file);
  }

  /** A file of its own, where a drill would restore. */
  @Override
  protected Optional<Resource> sandbox(Resource original) {
    return Optional.of(Resource.of("state", ResourceType.FILE_TREE,
        "onefile://" + workDirectory.resolve("sandbox-" + created++ + ".bin")));
  }

  /** Rewrites 64 KiB in the middle: the store keeps only the chunks around it. */
  @Override
  protected void mutate(Resource resource) throws Exception {
    byte[] edit = new byte[64 << 10];
    new Random(7).nextBytes(edit);
    try (var out = Files.newByteChannel(Path.of(resource.locator().getPath()), StandardOpenOption.WRITE)) {
      out.position(1 << 20).write(ByteBuffer.wrap(edit));
    }
  }

  @Override
  protected String fingerprint(Resource resource) throws Exception {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(Path.of(resource.locator().getPath())));
    return HexFormat.of().formatHex(digest);
  }

  @Test
  void isFoundByTheServiceLoader() {
    assertTrue(ServiceLoader.load(ResourceProvider.class).stream()
        .anyMatch(p -> p.type() == SingleFileProvider.class));
  }
}
