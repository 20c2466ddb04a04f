/** Timelines of captures, one row per member, from Lencap's events: where the pause is, at a glance. */
module io.lencap.timeline {
  requires transitive io.lencap.api;
  requires java.desktop;

  exports io.lencap.timeline;
}
