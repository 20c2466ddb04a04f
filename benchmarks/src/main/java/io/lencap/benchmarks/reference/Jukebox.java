package io.lencap.benchmarks.reference;

import com.emc.ecs.nfsclient.nfs.NfsException;
import java.io.IOException;
import java.io.InterruptedIOException;

/**
 * NFS calls of the reference clients ({@link NfsReader}, {@link NfsWriter}): NFS3ERR_JUKEBOX ("try again later",
 * which Ganesha answers when its open files run short) is retried after a pause, as NFS clients do, up to 50 times.
 */
final class Jukebox {
  private static final int JUKEBOX = 10008;

  private Jukebox() {}

  interface Call<T> {
    T run() throws IOException;
  }

  static <T> T retried(Call<T> call) throws IOException {
    for (int attempt = 0; ; attempt++) {
      try {
        return call.run();
      } catch (NfsException e) {
        if (attempt == 50 || e.getStatus() == null || e.getStatus().getValue() != JUKEBOX) {
          throw e;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while the server asked to wait");
        }
      }
    }
  }
}
