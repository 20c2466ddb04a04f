package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tgt's LUN 0 is its controller: the error says so in the user's terms and names the disk LUNs to use. */
class TgtControllerLunIT {

  @TempDir
  Path dir;

  @Test
  void lunZeroOfTgtIsNamedAsItsControllerWithTheLunsToUse() throws Exception {
    try (TgtFileTarget tgt = new TgtFileTarget(dir, 4L << 20, 4L << 20)) {
      Resource controller = Resource.builder("lun").type("block").locator(tgt.locator(0)).build();
      IscsiException e = assertThrows(IscsiException.class, () -> LunSpec.of(controller).connect().close());
      assertEquals(IscsiException.Reason.NOT_FOUND, e.reason(), e.getMessage());
      assertTrue(e.getMessage().contains("LUN 0 of iSCSI target " + TgtFileTarget.IQN)
        && e.getMessage().contains("the target's controller")
        && e.getMessage().contains("use one of its disk LUNs [1, 2]"), e.getMessage());
      assertFalse(e.getMessage().contains("CHECK_CONDITION"), e.getMessage());
      try (IscsiSession s = LunSpec.of(Resource.builder("lun").type("block").locator(tgt.locator(1)).build())
          .connect()) {
        assertEquals(4L << 20, s.sizeBytes());
      }
    }
  }
}
