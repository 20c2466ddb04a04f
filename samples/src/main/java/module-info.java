/**
 * Lencap samples. {@link io.lencap.samples.provider.SingleFileProvider} shows how to write a resource
 * provider (one file, {@code onefile:///path}); {@code io.lencap.samples} holds runnable programs, whose
 * directory trees go through the {@code lencap-localdir} provider. The benchmarks live in their own module
 * ({@code benchmarks/}).
 */
module io.lencap.samples {
  requires io.lencap.spi;
  requires org.slf4j;
  requires io.lencap.timeline;
  requires io.lencap.testing; // the counter guests of the demos

  provides io.lencap.spi.ResourceProvider with io.lencap.samples.provider.SingleFileProvider;
}
