package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Encapsulation;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.MemberRole;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OrderTest {
  private final Encapsulation group = Encapsulation.builder("g")
      .resource(Resource.of("vm", ResourceType.VIRTUAL_MACHINE, "qemu:///system"))
      .resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, "iscsi://h/iqn.2026-01.x:t/1"))
      .resource(Resource.of("job", ResourceType.FILE_TREE, "file:///job"))
      .build();

  @Test
  void byTypeVmsWriteToEveryStorageMember() {
    Order order = new Order(group);

    assertEquals(List.of(Set.of("lun", "job"), Set.of("vm")), levels(order.ascending()));
    assertEquals(Set.of("lun", "job"), order.dependencies("vm"));
    assertTrue(order.isStorage("lun"));
    assertFalse(order.isStorage("vm"));
  }

  @Test
  void aProviderThatCallsItsMemberAWriterPutsItAboveTheStorage() {
    // A tree provider whose tree is a job's running state, written to a LUN: a writer, not storage.
    Order order = new Order(group, r -> r.id().equals("job") ? MemberRole.WRITER : MemberRole.byType(r.type()));

    assertEquals(List.of(Set.of("lun"), Set.of("vm", "job")), levels(order.ascending()));
    assertEquals(List.of(Set.of("vm", "job"), Set.of("lun")), levels(order.descending()));
    assertEquals(Set.of("lun"), order.dependencies("job"));
    assertFalse(order.isStorage("job"));
  }

  private static List<Set<String>> levels(List<List<String>> levels) {
    return levels.stream().map(Set::copyOf).toList();
  }
}
