package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The parts of changed-block tracking that need no QEMU: checkpoint XML, judging a bitmap from qemu-img, and cutting
 * the bitmap's ranges at block boundaries.
 */
class ChangedBlocksTest {
  static String info(String bitmaps) {
    return "{\n    \"virtual-size\": 268435456,\n    \"format-specific\": {\n        \"type\": \"qcow2\",\n"
        + "        \"data\": {\n            \"compat\": \"1.1\",\n            \"bitmaps\": [\n" + bitmaps
        + "            ],\n            \"refcount-bits\": 16\n        }\n    }\n}\n";
  }

  static String bitmap(String name, String... flags) {
    return "{\n \"flags\": [\n" + String.join(",\n", List.of(flags).stream().map(f -> "\"" + f + "\"").toList())
        + "\n ],\n \"name\": \"" + name + "\",\n \"granularity\": 65536\n}";
  }

  @Test
  void aStoredRecordingBitmapServes() {
    assertEquals(Optional.empty(), QemuImg.bitmapProblem(info(bitmap("other", "auto") + ",\n"
        + bitmap("lencap-a", "auto")), "lencap-a", "d.qcow2"));
  }

  @Test
  void aBitmapInUseMissingOrDisabledDoesNot() {
    assertTrue(QemuImg.bitmapProblem(info(bitmap("lencap-a", "in-use", "auto")), "lencap-a", "d.qcow2").orElseThrow()
        .contains("marked in use"));
    assertTrue(QemuImg.bitmapProblem(info(bitmap("lencap-a")), "lencap-a", "d.qcow2").orElseThrow()
        .contains("not recording"));
    assertTrue(QemuImg.bitmapProblem(info(bitmap("lencap-ab", "auto")), "lencap-a", "d.qcow2").orElseThrow()
        .contains("holds no bitmap lencap-a"));
    assertTrue(QemuImg.bitmapProblem("{\"format\": \"qcow2\"}", "lencap-a", "d.qcow2").isPresent());
  }

  @Test
  void checkpointXmlGivesTrackedDisksABitmapAndOthersNone() {
    assertEquals("<domaincheckpoint><name>lencap-a&apos;b</name><disks><disk name='vda' checkpoint='bitmap'/>"
        + "<disk name='vdb' checkpoint='no'/></disks></domaincheckpoint>",
        Checkpoints.xml("lencap-a'b", List.of("vda", "vdb"), List.of("vda")));
    assertEquals("lencap-20261202T0900", Checkpoints.name("20261202T0900"));
  }
}
