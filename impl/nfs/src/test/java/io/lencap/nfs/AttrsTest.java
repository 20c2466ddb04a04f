package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.emc.ecs.nfsclient.nfs.NfsTime;
import org.junit.jupiter.api.Test;

class AttrsTest {
  @Test
  void timesComeInNanoseconds() {
    assertEquals(1_600_000_000_123_000_000L, Attrs.nanos(new NfsTime(1_600_000_000_123L)));
    assertEquals(0, Attrs.nanos(null));
  }
}
