package io.lencap.iscsi;

import io.lencap.spi.Discarder;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Removes what a restore wrote onto a LUN (a drill's sandbox) the only way iSCSI allows, a LUN being the target's
 * to create and delete: every block is zeroed. The LUN is read first and only the pieces that hold anything are
 * written, so a second discard, or one of a LUN the restore found zeroed, writes nothing.
 */
final class LunDiscard implements Discarder {
  private final LunSpec spec;

  LunDiscard(LunSpec spec) {
    this.spec = spec;
  }

  @Override
  public void discard() {
    LunDriver.run(spec, () -> {
      try (IscsiSession s = spec.connect()) {
        int piece = spec.chunkSize();
        List<long[]> written = new ArrayList<>(); // {offset, length} of the pieces holding anything
        s.stream(0, s.sizeBytes(), piece, (offset, data) -> {
          if (!zero(data)) {
            written.add(new long[] {offset, data.remaining()});
          }
        });
        byte[] zeros = new byte[piece];
        s.write(written, (offset, data) -> data.put(zeros, 0, data.remaining()));
        s.synchronizeCache();
      }
    });
  }

  private static boolean zero(ByteBuffer data) {
    for (int i = data.position(); i < data.limit(); i++) {
      if (data.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
