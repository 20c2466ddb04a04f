package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.iscsi.IscsiException.Reason;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CHAP against a real istgt: mutual CHAP (istgt proves its own secret), a target user or secret we do not share
 * refused without showing either secret, and credentials configured for a target without authentication refused
 * rather than dropped.
 */
class MutualChapIT {

  static final long SIZE = 8L << 20;
  static final String USER = "lencap";
  static final String SECRET = "initiator-4711";
  static final String TARGET_USER = "istgt-target";
  static final String TARGET_SECRET = "target-secret-0815";

  @TempDir
  static Path dir;
  static IstgtTarget istgt;

  @BeforeAll
  static void start() throws Exception {
    istgt = new IstgtTarget(dir,
      IstgtTarget.Spec.of("mutual", SIZE).withMutualChap(USER, SECRET, TARGET_USER, TARGET_SECRET),
      IstgtTarget.Spec.of("open", SIZE));
  }

  @AfterAll
  static void stop() {
    if (istgt != null) {
      istgt.close();
    }
  }

  static Resource lun(String target, String targetUser, String targetSecret) {
    Resource.Builder b = Resource.builder("lun").type("block").locator(istgt.locator(target, 0))
      .property(LunSpec.CHAP_USER, USER).secret(LunSpec.CHAP_SECRET, Secret.of(SECRET));
    if (targetUser != null) {
      b.property(LunSpec.CHAP_TARGET_USER, targetUser).secret(LunSpec.CHAP_TARGET_SECRET, Secret.of(targetSecret));
    }
    return b.build();
  }

  static void assertNoSecret(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      assertFalse(m.contains(SECRET) || m.contains(TARGET_SECRET) || m.contains("guessed-secret"), m);
    }
  }

  @Test
  void mutualChapLogsInWhenIstgtProvesItsSecret() throws Exception {
    try (IscsiSession s = LunSpec.of(lun("mutual", TARGET_USER, TARGET_SECRET)).connect()) {
      assertEquals(SIZE, s.sizeBytes());
    }
  }

  @Test
  void aTargetSecretIstgtDoesNotHaveIsRefused() {
    IscsiException e = assertThrows(IscsiException.class,
      () -> LunSpec.of(lun("mutual", TARGET_USER, "guessed-secret")).connect().close());
    assertEquals(Reason.AUTHENTICATION, e.reason());
    assertTrue(e.getMessage().contains("answered our CHAP challenge wrongly"), e.getMessage());
    assertNoSecret(e);
  }

  @Test
  void oneWayCredentialsAreRefusedByAMutualTarget() {
    IscsiException e = assertThrows(IscsiException.class, () -> LunSpec.of(lun("mutual", null, null)).connect()
      .close());
    assertEquals(Reason.AUTHENTICATION, e.reason());
    assertNoSecret(e);
  }

  @Test
  void credentialsForATargetWithoutAuthenticationAreNotDropped() {
    IscsiException e = assertThrows(IscsiException.class,
      () -> LunSpec.of(lun("open", TARGET_USER, TARGET_SECRET)).connect().close());
    assertEquals(Reason.AUTHENTICATION, e.reason(), e.getMessage());
    assertNoSecret(e);
  }
}
