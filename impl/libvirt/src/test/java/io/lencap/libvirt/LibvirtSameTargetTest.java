package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which connection and domain pairs name the same VM, so that a drill never restores over (and destroys) a member. */
class LibvirtSameTargetTest {
  final LibvirtProvider provider = new LibvirtProvider();

  private static Resource vm(String uri, String domain) {
    return Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(uri).property("domain", domain).build();
  }

  private boolean same(String uri, String domain, String memberUri, String memberDomain) {
    return provider.sameTarget(vm(uri, domain), vm(memberUri, memberDomain));
  }

  @Test
  void everyTransportToThisHostReachesTheSameDomain() {
    for (String alias : List.of("qemu:///system", "qemu+unix:///system", "QEMU+UNIX:///system/",
        "qemu+unix:///system?socket=/run/libvirt/libvirt-sock", "qemu+tcp://localhost/system",
        "qemu+ssh://root@localhost:22/system", "qemu+tls://127.0.0.1/system", "qemu+ssh://[::1]/system",
        "qemu+tcp:///system", "qemu+tls:///system", "qemu+ssh:///system")) {
      assertTrue(same(alias, "rank0", "qemu:///system", "rank0"), alias);
      assertTrue(same("qemu:///system", "rank0", alias, "rank0"), alias);
    }
  }

  @Test
  void aRemoteHostIsOneHostWhateverTheTransportUserOrPort() {
    for (String alias : List.of("qemu+ssh://admin@Node1/system", "qemu+tls://node1:16514/system",
        "qemu://node1/system", "qemu+tcp://node1/system/")) {
      assertTrue(same(alias, "rank0", "qemu+ssh://node1/system", "rank0"), alias);
    }
    assertTrue(same("xen:///system", "dom1", "libxl:///", "dom1"), "Xen has one set of domains");
  }

  @Test
  void anotherDomainHostOrInstanceIsApart() {
    assertFalse(same("qemu+unix:///system", "rank0-drill", "qemu:///system", "rank0"));
    assertFalse(same("qemu+ssh://node2/system", "rank0", "qemu+ssh://node1/system", "rank0"));
    assertFalse(same("qemu+ssh://node1/system", "rank0", "qemu:///system", "rank0"));
    assertFalse(same("qemu:///session", "rank0", "qemu:///system", "rank0"));
    assertFalse(same("test:///default", "rank0", "qemu:///system", "rank0"));
    assertFalse(same("qemu:///system", "Rank0", "qemu:///system", "rank0"), "libvirt's domain names keep their case");
    assertFalse(provider.sameTarget(Resource.of("t", ResourceType.FILE_TREE, "file:///system"),
        vm("qemu:///system", "rank0")));
  }
}
