package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Secret;
import io.lencap.api.spi.EngineSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EncryptedStoreTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();

  Lencap open(String key) {
    Map<String, Secret> secrets = key == null ? Map.of() : Map.of("encryption.key", Secret.of(key));
    return Engine.open(new EngineSettings(store.toUri(), Map.of(), secrets, Optional.empty(), List.of(),
        Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
  }

  static String key(int seed) {
    byte[] k = new byte[32];
    new java.util.Random(seed).nextBytes(k);
    return Base64.getEncoder().encodeToString(k);
  }

  @Test
  void sealsEverythingAndNeedsTheRightKey() throws Exception {
    byte[] plaintext = "CONFIDENTIAL-PAYROLL-RECORD;".repeat(4000).getBytes(StandardCharsets.UTF_8);
    memory.devices.put("d", plaintext.clone());
    Encapsulation g = Encapsulation.builder("secret-group")
        .resource(Resource.of("m", ResourceType.BLOCK_VOLUME, "mem://d")).build();
    Checkpoint cp;
    try (Lencap l = open(key(1))) {
      cp = l.capture(g).join();
    }
    byte[] needle = "CONFIDENTIAL".getBytes(StandardCharsets.UTF_8);
    byte[] groupName = "secret-group\"".getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> files = Files.walk(store)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        byte[] b = Files.readAllBytes(f);
        assertFalse(contains(b, needle), f + " holds plaintext");
        assertFalse(contains(b, groupName), f + " holds manifest JSON in clear");
      }
    }
    try (Lencap wrong = open(key(2))) {
      LencapException e = assertThrows(LencapException.class, () -> unwrap(() -> wrong.checkpoints("secret-group").join()));
      assertTrue(e.getMessage().contains("wrong encryption.key"), e.getMessage());
    }
    try (Lencap none = open(null)) {
      LencapException e = assertThrows(LencapException.class, () -> unwrap(() -> none.checkpoints("secret-group").join()));
      assertTrue(e.getMessage().contains("encrypted"), e.getMessage());
    }
    memory.devices.get("d")[0] ^= 1;
    try (Lencap right = open(key(1))) {
      right.restore(g, cp.id()).join();
      assertTrue(right.verify("secret-group").join().ok());
    }
    assertArrayEquals(plaintext, memory.devices.get("d"));
  }

  static void unwrap(Runnable r) {
    try {
      r.run();
    } catch (CompletionException e) {
      throw (RuntimeException) e.getCause();
    }
  }

  static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
