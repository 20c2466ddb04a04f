package io.lencap.libvirt;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.libvirt.Domain;
import org.libvirt.StoragePool;

/**
 * Member {@code vm} naming domain {@code vm1}, over a mocked libvirt connection and domain that a test scripts:
 * the strategies' logic without a daemon. Only what libvirt answers is faked, never the code under test.
 */
final class MockedDomain {
  static final String UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f";

  final LibvirtConnection conn = mock(LibvirtConnection.class);
  final Connections connections = mock(Connections.class);
  final Domain domain = mock(Domain.class);
  /** Storage pool {@code lencap}, a directory pool at {@code /pool}. */
  final StoragePool pool = mock(StoragePool.class);
  final Path work;
  final MemberDomain member;

  MockedDomain(Path workDirectory, Resource resource) throws Exception {
    when(connections.get(any(), anyString())).thenReturn(conn);
    when(connections.getPatiently(any(), anyString(), any())).thenReturn(conn);
    when(conn.domainLookupByName("vm1")).thenReturn(domain);
    when(conn.domainLookupByUUIDString(UUID)).thenReturn(domain);
    when(conn.getType()).thenReturn("QEMU");
    when(domain.getName()).thenReturn("vm1");
    when(domain.getUUIDString()).thenReturn(UUID);
    when(conn.storagePoolLookupByName("lencap")).thenReturn(pool);
    when(pool.isActive()).thenReturn(1);
    when(pool.getXMLDesc(0)).thenReturn("<pool type='dir'><name>lencap</name><target><path>/pool</path></target></pool>");
    this.work = workDirectory.resolve("libvirt");
    this.member = new MemberDomain(resource, ResourceProviderContract.providerContext(workDirectory), connections);
    member.connect();
  }

  MockedDomain(Path workDirectory) throws Exception {
    this(workDirectory, vm(Map.of()));
  }

  /** What libvirt reports as the domain's state from now on. */
  MockedDomain inState(int state) {
    when(conn.state(eq(UUID), anyString(), anyString())).thenReturn(new LibvirtConnection.State(state, 0));
    return this;
  }

  static Resource vm(Map<String, String> properties, String... dependsOn) {
    Resource.Builder b = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "vm1");
    properties.forEach(b::property);
    if (dependsOn.length > 0) {
      b.dependsOn(dependsOn);
    }
    return b.build();
  }

  /** A prepared domain in {@code state} with the disks of {@code xml}. */
  static PreparedDomain prepared(int state, String xml, Set<String> excluded) {
    List<DomainXml.Disk> disks = xml == null ? List.of() : DomainXml.parse(xml).disks();
    return new PreparedDomain(UUID, new LibvirtConnection.State(state, 0), disks, excluded, Set.of());
  }
}
