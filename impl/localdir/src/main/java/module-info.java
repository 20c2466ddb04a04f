/**
 * Lencap's local-directory provider: directory trees on a local file system ({@code file:///dir}) captured
 * and restored through the tree engine ({@code io.lencap.tree}). Found through ServiceLoader; exports only
 * the provider's package, for its documented constants (the quiesce marker, property names).
 */
module io.lencap.localdir {
  requires io.lencap.spi;
  requires io.lencap.tree;
  requires org.slf4j;
  requires com.sun.jna; // LocalHoles: where a sparse file's data lies

  exports io.lencap.localdir;

  provides io.lencap.spi.ResourceProvider with io.lencap.localdir.LocalDirectoryProvider;
}
