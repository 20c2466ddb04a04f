/** Lencap's SAN provider: iSCSI LUNs through jSCSI's PDU codec. Exports nothing; found through ServiceLoader. */
module io.lencap.iscsi {
  requires io.lencap.spi;
  requires org.slf4j;
  requires commons; // jSCSI's codec (automatic module named after its jar, org.jscsi:commons)

  provides io.lencap.spi.ResourceProvider with io.lencap.iscsi.IscsiProvider;
}
