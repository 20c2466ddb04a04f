/** Lencap's figures as Micrometer meters. */
module io.lencap.micrometer {
  requires transitive io.lencap.api;
  requires transitive micrometer.core;

  exports io.lencap.micrometer;
}
