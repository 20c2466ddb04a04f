/**
 * Fixtures the modules' tests, the samples, the benchmarks and the end-to-end tests share: a local file
 * as a block-volume member, an allocation counter, and the counter guests of {@code scripts/setup/guest.sh}
 * (driven with {@code virsh}, so no libvirt binding comes with them). A named module so that the samples,
 * a named module themselves, can require it also when it is read from a class directory.
 */
module io.lencap.testing {
  requires transitive io.lencap.spi;
  requires java.xml;
  requires static org.junit.jupiter.api; // Components only: the samples run without JUnit

  exports io.lencap.testing;
}
