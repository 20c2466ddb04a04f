/** Lencap's HDFS store backend ({@code hdfs://} store URIs). Exports nothing; found through ServiceLoader. */
module io.lencap.hdfs {
  requires io.lencap.spi;
  requires org.slf4j;
  requires hadoop.client.api; // automatic module named after its jar (no Automatic-Module-Name)

  provides io.lencap.spi.BlobBackendProvider with io.lencap.hdfs.HdfsBackendProvider;
}
