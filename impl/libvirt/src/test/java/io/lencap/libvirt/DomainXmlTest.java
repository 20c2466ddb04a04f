package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DomainXmlTest {
  static final String XML = """
      <domain type='kvm'>
        <name>vm1</name>
        <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
        <devices>
          <disk type='file' device='disk'>
            <driver name='qemu' type='qcow2'/>
            <source file='/var/lib/vm1/top.qcow2' index='2'/>
            <backingStore type='file' index='1'><format type='qcow2'/><source file='/var/lib/vm1/base.qcow2'/></backingStore>
            <target dev='vda' bus='virtio'/>
          </disk>
          <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>
          <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdc'/></disk>
          <disk type='file' device='cdrom'><source file='/iso/install.iso'/><target dev='hdc'/><readonly/></disk>
          <serial type='file'><source path='/var/log/vm1.console' append='on'/><target port='0'/></serial>
          <console type='file'><source path='/var/log/vm1.console' append='on'/><target type='serial' port='0'/></console>
          <graphics type='vnc' passwd='s3cret'/>
        </devices>
      </domain>""";

  @Test
  void readsDisks() {
    List<DomainXml.Disk> disks = DomainXml.parse(XML).disks();
    assertEquals(List.of("vda", "vdb", "vdc", "hdc"), disks.stream().map(DomainXml.Disk::dev).toList());
    DomainXml.Disk vda = disks.get(0);
    assertEquals(Optional.of(Path.of("/var/lib/vm1/top.qcow2")), vda.source());
    assertEquals(Optional.of(Path.of("/var/lib/vm1/base.qcow2")), vda.backing());
    assertEquals(Optional.of("qcow2"), vda.format());
    assertTrue(vda.writableLocal());
    assertEquals(Optional.of(Path.of("/dev/sdb")), disks.get(1).source());
    assertTrue(disks.get(1).writableLocal());
    assertFalse(disks.get(2).writableLocal(), "network disks are not read by the provider");
    assertFalse(disks.get(3).writableLocal(), "read-only cdroms are referenced, not captured");
  }

  @Test
  void rewritesWhatARestoreElsewhereChanges() {
    DomainXml x = DomainXml.parse(XML).withDiskSources(Map.of("vda", Path.of("/new/vda.qcow2")))
        .withName("vm1-copy").withUuid(Optional.of("11111111-2222-3333-4444-555555555555"))
        .withCharacterFiles(p -> Path.of("/new").resolve(p.getFileName()));
    DomainXml back = DomainXml.parse(x.xml());
    assertEquals("vm1-copy", back.name());
    DomainXml.Disk vda = back.disks().get(0);
    assertEquals(Optional.of(Path.of("/new/vda.qcow2")), vda.source());
    assertEquals(Optional.empty(), vda.backing(), "the old chain is dropped");
    assertTrue(x.xml().contains("<uuid>11111111-2222-3333-4444-555555555555</uuid>"));
    assertTrue(x.xml().contains("path=\"/new/vm1.console\""), "console relocated");
    assertFalse(x.xml().contains("index="), "libvirt's runtime indices are dropped");
    assertEquals(Optional.of(Path.of("/dev/sdb")), back.disks().get(1).source());
  }

  @Test
  void aDiskRestoredAsARawVolumeSaysSoInItsDriver() {
    DomainXml x = DomainXml.parse(XML).withDiskSources(Map.of("vda", Path.of("/pool/vm1-lencap-cp1-vda.raw")))
        .withDiskFormats(Map.of("vda", "raw", "vdb", "raw"));
    DomainXml.Disk vda = x.disks().get(0);
    assertEquals(Optional.of("raw"), vda.format());
    assertEquals(Optional.of(Path.of("/pool/vm1-lencap-cp1-vda.raw")), vda.source());
    assertEquals(Optional.empty(), x.disks().get(1).format(), "a disk without a driver element is left as it is");
  }

  @Test
  void removingTheUuidLetsLibvirtChoose() {
    assertFalse(DomainXml.parse(XML).withUuid(Optional.empty()).xml().contains("<uuid>"));
  }

  @Test
  void neverShowsItsContentInToString() {
    assertEquals("DomainXml{vm1}", DomainXml.parse(XML).toString());
    assertFalse(DomainXml.parse(XML).toString().contains("s3cret"));
  }

  @Test
  void refusesDoctypes() {
    assertThrows(IllegalArgumentException.class, () -> DomainXml.parse(
        "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>"));
  }

  static final String LUN_XML = """
      <domain type='qemu'><name>vm2</name><devices>
        <disk type='network' device='disk'><driver name='qemu' type='raw'/>
          <source protocol='iscsi' name='iqn.2024-01.io.lencap:t1/0'><host name='10.0.0.5'/></source>
          <target dev='vda' bus='virtio'/></disk>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
          <source file='/work/u-vdb.lencap-x.qcow2' index='2'/>
          <backingStore type='network' index='1'><format type='raw'/>
            <source protocol='iscsi' name='iqn.2024-01.io.lencap:t2/1'><host name='127.0.0.1' port='3270'/></source>
          </backingStore>
          <target dev='vdb' bus='virtio'/></disk>
        <disk type='network' device='disk'><source protocol='iscsi' name='iqn.x:t3/0'><host name='h'/></source>
          <target dev='vdc'/><readonly/></disk>
      </devices></domain>""";

  @Test
  void readsIscsiLunsAsTheirLocatorsAndPointsAnOverlaidDiskBackAtItsLun() {
    List<DomainXml.Disk> disks = DomainXml.parse(LUN_XML).disks();
    assertEquals(Optional.of(java.net.URI.create("iscsi://10.0.0.5:3260/iqn.2024-01.io.lencap:t1/0")), disks.get(0).lun());
    assertTrue(disks.get(0).writableLun());
    assertFalse(disks.get(0).writableLocal());
    assertEquals(Optional.empty(), disks.get(1).lun());
    assertEquals(Optional.of(java.net.URI.create("iscsi://127.0.0.1:3270/iqn.2024-01.io.lencap:t2/1")),
        disks.get(1).backingLun());
    assertFalse(disks.get(2).writableLun(), "a read-only LUN is not redirected");

    DomainXml.Disk back = DomainXml.parse(DomainXml.parse(LUN_XML)
        .withLunSource("vdb", disks.get(1).backingLun().get()).xml()).disks().get(1);
    assertEquals("network", back.type());
    assertEquals(disks.get(1).backingLun(), back.lun());
    assertEquals(Optional.of("raw"), back.format());
    assertEquals(Optional.empty(), back.backingLun());
  }

  static final String CHAP_XML = """
      <domain type='qemu'><name>vm3</name><devices>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
          <source file='/work/u-vda.lencap-x.qcow2'/>
          <backingStore type='network'><format type='raw'/>
            <source protocol='iscsi' name='iqn.2024-01.io.lencap:t1/2'><host name='127.0.0.1' port='3270'/>
              <auth username='alice'><secret type='iscsi' usage='lun-chap'/></auth>
              <initiator><iqn name='iqn.2024-01.io.lencap:vm3'/></initiator></source>
          </backingStore>
          <target dev='vda' bus='virtio'/></disk>
        <disk type='network' device='disk'><driver name='qemu' type='raw'/>
          <auth username='bob'><secret type='iscsi' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></auth>
          <source protocol='iscsi' name='iqn.2024-01.io.lencap:t2'><host name='10.0.0.5'/></source>
          <target dev='vdb' bus='virtio'/></disk>
      </devices></domain>""";

  @Test
  void pointingAnOverlaidDiskBackAtItsLunKeepsItsChapAuthAndInitiator() {
    DomainXml x = DomainXml.parse(CHAP_XML);
    URI lun = x.disks().get(0).backingLun().orElseThrow();
    String back = x.withLunSource("vda", lun).xml();
    DomainXml.Disk vda = DomainXml.parse(back).disks().get(0);
    assertEquals(Optional.of(lun), vda.lun());
    assertEquals(Optional.empty(), vda.backingLun());
    assertEquals(new DomainXml.LunAccess(lun, Optional.of("alice"), Optional.empty(), Optional.of("lun-chap"),
        Optional.of("iqn.2024-01.io.lencap:vm3")), DomainXml.parse(back).lunAccess("vda").orElseThrow());
    assertEquals(2, count(back, "<auth "), "one per disk: " + back);
    assertFalse(back.contains("lencap-x.qcow2"), back);
  }

  @Test
  void repointingALunDiskElsewhereKeepsItsAuthOnce() {
    URI moved = URI.create("iscsi://[fd00::7]:3261/iqn.2024-01.io.lencap:b/1");
    String xml = DomainXml.parse(CHAP_XML).withLunSource("vdb", moved).xml();
    DomainXml back = DomainXml.parse(xml);
    assertEquals(Optional.of(moved), back.disks().get(1).lun());
    assertTrue(xml.contains("name=\"fd00::7\""), xml);
    DomainXml.LunAccess a = back.lunAccess("vdb").orElseThrow();
    assertEquals(Optional.of("bob"), a.user(), "the disk-level <auth> of older definitions stays");
    assertEquals(Optional.of("0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"), a.secretUuid());
    assertEquals(2, count(xml, "<auth "), "one per disk: " + xml);
    assertEquals(2, count(xml, "<host "), "one per disk: " + xml);
  }

  @Test
  void readsTheLunAccessOfAPlainLunAndNoneOfAFile() {
    DomainXml x = DomainXml.parse(LUN_XML);
    assertEquals(Optional.of(DomainXml.LunAccess.of(URI.create("iscsi://10.0.0.5:3260/iqn.2024-01.io.lencap:t1/0"))),
        x.lunAccess("vda"));
    assertEquals(Optional.empty(), DomainXml.parse(XML).lunAccess("vda"));
    assertEquals(Optional.empty(), x.lunAccess("nope"));
  }

  private static int count(String s, String what) {
    return s.split(java.util.regex.Pattern.quote(what), -1).length - 1;
  }
}
