/**
 * Lencap samples. {@link io.lencap.samples.provider.SingleFileProvider} shows how to write a resource
 * provider (one file, {@code onefile:///path}); {@code io.lencap.samples} holds runnable programs, whose
 * directory trees go through the {@code lencap-localdir} provider, and {@code io.lencap.samples.bench} the
 * benchmarks (with a no-op provider for {@code noop://} members).
 */
module io.lencap.samples {
  requires io.lencap.spi;
  requires org.slf4j;
  requires io.lencap.timeline;

  provides io.lencap.spi.ResourceProvider with
      io.lencap.samples.provider.SingleFileProvider,
      io.lencap.samples.bench.NoOpProvider;
}
