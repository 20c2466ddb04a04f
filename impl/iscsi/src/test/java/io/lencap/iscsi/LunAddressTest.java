package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import java.net.URI;
import org.junit.jupiter.api.Test;

class LunAddressTest {

  @Test
  void parsesTheLibiscsiForm() {
    LunAddress a = LunAddress.parse(URI.create("iscsi://10.0.0.5:3261/iqn.2024-01.io.lencap:disk/7"));
    assertEquals(new LunAddress("10.0.0.5", 3261, "iqn.2024-01.io.lencap:disk", 7), a);
    assertEquals(3260, LunAddress.parse(URI.create("iscsi://host/iqn.x:y/0")).port());
  }

  @Test
  void encodesPeripheralAndFlatLunAddressing() {
    assertEquals(0x0001_0000_0000_0000L, new LunAddress("h", 1, "i", 1).lunField());
    assertEquals(0x4101_0000_0000_0000L, new LunAddress("h", 1, "i", 257).lunField());
  }

  @Test
  void badLocatorsNameTheField() {
    for (String bad : new String[] {"iscsi://host/iqn", "iscsi://host/iqn/x", "iscsi://host/iqn/99999",
      "nfs://host/iqn/0", "iscsi://host//0"}) {
      InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> LunSpec.of(Resource.of("lun1", io.lencap.api.ResourceType.BLOCK_VOLUME, bad)));
      assertEquals("resources[lun1].locator", e.field(), bad);
    }
  }

  @Test
  void credentialsInTheLocatorAreRefusedWithoutEchoingThem() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> LunSpec.of(
      Resource.of("lun1", io.lencap.api.ResourceType.BLOCK_VOLUME, "iscsi://bob%25hunter2@host/iqn.x:y/0")));
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
  }

  @Test
  void chapNeedsUserAndSecretAndNeverShowsTheSecret() {
    Resource onlySecret = Resource.builder("l").type("block").locator("iscsi://h/iqn.x:y/0")
      .secret(LunSpec.CHAP_SECRET, Secret.of("hunter2")).build();
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> LunSpec.of(onlySecret));
    assertEquals("resources[l].properties.chap.user", e.field());
    LunSpec spec = LunSpec.of(onlySecret.toBuilder().property(LunSpec.CHAP_USER, "bob").build());
    assertTrue(spec.chap().isPresent());
    assertFalse(spec.toString().contains("hunter2"));
    assertFalse(spec.chap().get().toString().contains("hunter2"));
  }

  @Test
  void mutualChapNeedsBothHalvesOneWayChapAndItsOwnSecret() {
    Resource oneWay = Resource.builder("l").type("block").locator("iscsi://h/iqn.x:y/0")
      .property(LunSpec.CHAP_USER, "bob").secret(LunSpec.CHAP_SECRET, Secret.of("hunter2")).build();
    InvalidSpecException noSecret = assertThrows(InvalidSpecException.class, () -> LunSpec.of(oneWay.toBuilder()
      .property(LunSpec.CHAP_TARGET_USER, "tgt").build()));
    assertEquals("resources[l].secrets.chap.targetSecret", noSecret.field());
    InvalidSpecException sameSecret = assertThrows(InvalidSpecException.class, () -> LunSpec.of(oneWay.toBuilder()
      .property(LunSpec.CHAP_TARGET_USER, "tgt").secret(LunSpec.CHAP_TARGET_SECRET, Secret.of("hunter2")).build()));
    assertEquals("resources[l].secrets.chap.targetSecret", sameSecret.field());
    assertFalse(sameSecret.getMessage().contains("hunter2"), sameSecret.getMessage());
    InvalidSpecException noInitiator = assertThrows(InvalidSpecException.class, () -> LunSpec.of(
      Resource.builder("l").type("block").locator("iscsi://h/iqn.x:y/0").property(LunSpec.CHAP_TARGET_USER, "tgt")
        .secret(LunSpec.CHAP_TARGET_SECRET, Secret.of("other-secret")).build()));
    assertEquals("resources[l].properties.chap.user", noInitiator.field());
    LunSpec mutual = LunSpec.of(oneWay.toBuilder().property(LunSpec.CHAP_TARGET_USER, "tgt")
      .secret(LunSpec.CHAP_TARGET_SECRET, Secret.of("other-secret")).build());
    assertEquals("tgt", mutual.targetChap().orElseThrow().name());
    assertFalse(mutual.toString().contains("other-secret") || mutual.toString().contains("hunter2"));
  }

  @Test
  void badTunablesNameTheProperty() {
    Resource r = Resource.builder("l").type("block").locator("iscsi://h/iqn.x:y/0")
      .property(LunSpec.CHUNK_SIZE, "1000").build();
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> LunSpec.of(r));
    assertEquals("resources[l].properties.iscsi.chunkSize", e.field());
  }
}
