package io.lencap.iscsi;

import java.net.URI;
import java.nio.file.Path;

/** lencap-iscsi's istgt fixture ({@link IstgtTarget}) for tests outside its package: one target, file-backed LUNs. */
public final class IstgtLuns implements AutoCloseable {
  private final IstgtTarget target;
  private final String name;

  private IstgtLuns(IstgtTarget target, String name) {
    this.target = target;
    this.name = name;
  }

  /** The file LUN {@code lun} of target {@code name} will use: write it before {@link #start} to give it content. */
  public static Path lunFile(Path dir, String name, int lun) {
    return dir.resolve(name + "-lun" + lun + ".img");
  }

  /** Starts istgt with one target of these LUN sizes; skips (fails when required) without istgt. */
  public static IstgtLuns start(Path dir, String name, long... lunBytes) throws Exception {
    return new IstgtLuns(new IstgtTarget(dir, IstgtTarget.Spec.of(name, lunBytes)), name);
  }

  public URI locator(int lun) {
    return target.locator(name, lun);
  }

  public Path lunFile(int lun) {
    return target.lunFile(name, lun);
  }

  @Override
  public void close() {
    target.close();
  }
}
