package io.lencap.core;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.tck.BlobBackendContract;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class LocalBackendTest extends BlobBackendContract {
  @TempDir
  Path root;

  @Override
  protected BlobBackend newBackend() throws Exception {
    return new LocalBackend(Files.createDirectories(root.resolve("store")));
  }
}
