package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which locators name the same LUN, so that a drill never restores over (and zeroes) a member by an alias. */
class IscsiSameTargetTest {
  static final String MEMBER = "iscsi://san.example/iqn.2024-01.io.lencap:disk/1";
  final IscsiProvider provider = new IscsiProvider();

  private boolean same(String a, String b) {
    return provider.sameTarget(Resource.of("s", ResourceType.BLOCK_VOLUME, a),
        Resource.of("m", ResourceType.BLOCK_VOLUME, b));
  }

  @Test
  void aliasesOfOneLunAreTheSameTarget() {
    for (String alias : List.of(MEMBER,
        "iscsi://san.example:3260/iqn.2024-01.io.lencap:disk/1", // the default port
        "iscsi://san.example/iqn.2024-01.io.lencap:disk/01", // a leading zero
        "iscsi://san.example:3260/iqn.2024-01.io.lencap:disk/001",
        "iscsi://SAN.Example/iqn.2024-01.io.lencap:disk/1", // the host's case
        "ISCSI://san.example/IQN.2024-01.io.Lencap:DISK/1", // the scheme's and the iSCSI name's case
        "iscsi://san.example/iqn.2024-01.io.lencap:disk/1/")) {
      assertTrue(same(alias, MEMBER), alias);
      assertTrue(same(MEMBER, alias), alias);
    }
  }

  @Test
  void anotherLunPortTargetOrHostIsApart() {
    for (String other : List.of("iscsi://san.example/iqn.2024-01.io.lencap:disk/2",
        "iscsi://san.example:3261/iqn.2024-01.io.lencap:disk/1",
        "iscsi://san.example/iqn.2024-01.io.lencap:drill/1",
        "iscsi://nas.example/iqn.2024-01.io.lencap:disk/1")) {
      assertFalse(same(other, MEMBER), other);
    }
  }

  @Test
  void aLocatorThatDoesNotParseIsComparedAsText() {
    assertTrue(same("iscsi://san.example/iqn/x", "iscsi://san.example/iqn/x"));
    assertFalse(same("iscsi://san.example/iqn/x", MEMBER));
    assertFalse(provider.sameTarget(Resource.of("t", ResourceType.FILE_TREE, "file:///srv/data"),
        Resource.of("m", ResourceType.BLOCK_VOLUME, MEMBER)));
  }
}
