package io.lencap.spi;

/** What {@link Watcher#probe} saw. */
public record Health(Status status, String detail) {
  public enum Status {
    HEALTHY, DEGRADED, FAILED
  }

  public static Health healthy() {
    return new Health(Status.HEALTHY, "ok");
  }

  public static Health degraded(String detail) {
    return new Health(Status.DEGRADED, detail);
  }

  public static Health failed(String detail) {
    return new Health(Status.FAILED, detail);
  }
}
