/**
 * Lencap samples. {@link io.lencap.samples.tree.DirectoryTreeProvider} is a custom resource provider for a
 * local directory tree, exported so that applications can reuse it directly; {@code io.lencap.samples}
 * holds runnable programs. The benchmarks live in their own module ({@code benchmarks/}).
 */
module io.lencap.samples {
  requires transitive io.lencap.spi; // DirectoryTreeProvider's public signatures use SPI types
  requires org.slf4j;
  requires io.lencap.timeline;

  exports io.lencap.samples.tree;

  provides io.lencap.spi.ResourceProvider with io.lencap.samples.tree.DirectoryTreeProvider;
}
