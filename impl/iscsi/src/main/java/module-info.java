/**
 * Lencap's SAN provider: iSCSI LUNs through jSCSI's PDU codec, found through ServiceLoader. Exports only the
 * locator grammar and CHAP keys, and only to the libvirt provider, which writes them into VM disks.
 */
module io.lencap.iscsi {
  requires io.lencap.spi;
  requires org.slf4j;
  requires commons; // jSCSI's codec (automatic module named after its jar, org.jscsi:commons)

  exports io.lencap.iscsi.address to io.lencap.libvirt;

  provides io.lencap.spi.ResourceProvider with io.lencap.iscsi.IscsiProvider;
}
