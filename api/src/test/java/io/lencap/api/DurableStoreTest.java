package io.lencap.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.spi.EngineSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A durable tier must be another store than the local one, however either is spelled; a tier names what is missing. */
class DurableStoreTest {
  @TempDir
  Path dir;

  private static InvalidSpecException refused(URI local, URI durable) {
    return assertThrows(InvalidSpecException.class,
        () -> Lencap.builder().store(local).durableStore(durable).build().close(), durable.toString());
  }

  /** Gets past the builder's checks: with no engine on this module's test path, the lookup is what fails. */
  private static void accepted(URI local, URI durable) {
    LencapException e = assertThrows(LencapException.class,
        () -> Lencap.builder().store(local).durableStore(durable).build().close(), durable.toString());
    assertTrue(e.getMessage().startsWith("no Lencap engine found"), e.getMessage());
  }

  @Test
  void theLocalDirectorySpelledAnotherWayIsRefused() throws IOException {
    Path store = Files.createDirectories(dir.resolve("store"));
    Files.createSymbolicLink(dir.resolve("link"), store);
    URI local = store.toUri();
    for (String durable : List.of(local.toString(), local + "/", "file:" + store, "file://" + store + "/",
        "FILE://" + store, store.resolve("x/..").toUri().toString(), "file:" + dir + "/./store",
        dir.resolve("link").toUri().toString())) {
      InvalidSpecException e = refused(local, URI.create(durable));
      assertEquals("durableStore", e.field());
      assertTrue(e.getMessage().contains("spelled another way"), e.getMessage());
    }
    accepted(local, dir.resolve("store-durable").toUri());
    accepted(local, store.resolve("durable").toUri());
  }

  @Test
  void aRemoteStoreSpelledAnotherWayIsRefused() {
    URI local = URI.create("s3://lencap.example:7480/bucket/prefix");
    for (String durable : List.of("S3://LENCAP.example:7480/bucket/prefix/", "s3://key@lencap.example:7480/bucket/prefix",
        "s3://lencap.example:7480/bucket//other/../prefix")) {
      assertEquals("durableStore", refused(local, URI.create(durable)).field());
    }
    accepted(local, URI.create("s3://lencap.example:7480/bucket/prefix-durable"));
    accepted(local, URI.create("s3://other.example:7480/bucket/prefix"));
  }

  @Test
  void aTierNamesTheFieldItLacks() {
    URI s = URI.create("s3://b/p");
    assertEquals("durableStore", assertThrows(InvalidSpecException.class,
        () -> new EngineSettings.Tier(null, Map.of(), Map.of(), Retention.keepAll())).field());
    assertEquals("durableStoreOptions", assertThrows(InvalidSpecException.class,
        () -> new EngineSettings.Tier(s, null, Map.of(), Retention.keepAll())).field());
    assertEquals("durableStoreSecrets", assertThrows(InvalidSpecException.class,
        () -> new EngineSettings.Tier(s, Map.of(), null, Retention.keepAll())).field());
    assertEquals("durableRetention", assertThrows(InvalidSpecException.class,
        () -> new EngineSettings.Tier(s, Map.of(), Map.of(), null)).field());
  }
}
