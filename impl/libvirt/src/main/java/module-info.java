/**
 * Lencap's VM provider: libvirt domains on KVM/QEMU (live external snapshots) and Xen (save images).
 * Exports nothing; found through ServiceLoader.
 */
module io.lencap.libvirt {
  requires io.lencap.spi;
  requires io.lencap.iscsi; // the iSCSI locator grammar and CHAP keys of LUNs that VM disks reach themselves
  requires org.slf4j;
  requires java.xml;
  requires libvirt; // libvirt-java 0.5.4, an automatic module named after its jar
  requires com.sun.jna;
  requires jdk.unsupported; // ExtendedOpenOption.DIRECT, for the images a restore writes (Qcow2Writer)

  provides io.lencap.spi.ResourceProvider with io.lencap.libvirt.LibvirtProvider;
}
