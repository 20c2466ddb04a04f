package io.lencap.benchmarks.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkloadTest {
  @TempDir
  Path dir;

  @Test
  void mutateLunChangesOnePercentInWholeExtents() throws Exception {
    Path image = dir.resolve("lun.img");
    long size = 16L << 20;
    Files.write(image, new byte[(int) size]);
    Workload.fillLun(image, size, 1);
    byte[] before = Files.readAllBytes(image);
    long written = Workload.mutateLun(image, 0.01, 2);
    byte[] after = Files.readAllBytes(image);
    assertEquals(Math.round(size / Workload.EXTENT * 0.01) * Workload.EXTENT, written);
    assertEquals(size, after.length);
    int changedExtents = 0;
    for (int at = 0; at < size; at += Workload.EXTENT) {
      if (!Arrays.equals(before, at, at + Workload.EXTENT, after, at, at + Workload.EXTENT)) {
        changedExtents++;
      }
    }
    assertEquals(written, changedExtents * (long) Workload.EXTENT);
  }

  @Test
  void treeHasTheFilesAskedForAndMutationKeepsSizes() throws Exception {
    long bytes = Workload.makeTree(dir.resolve("t"), 300, 3);
    List<Path> files = Workload.files(dir.resolve("t"));
    assertEquals(300, files.size());
    assertEquals(bytes, Workload.readAll(List.of(dir.resolve("t"))));
    Map<Path, byte[]> copy = new HashMap<>();
    for (Path f : files) {
      copy.put(f, Files.readAllBytes(f));
    }
    int changed = Workload.mutateTree(dir.resolve("t"), 0.01, 4);
    assertEquals(3, changed);
    assertEquals(bytes, Workload.readAll(List.of(dir.resolve("t"))));
    int differing = 0;
    for (Path f : Workload.files(dir.resolve("t"))) {
      differing += Arrays.equals(Files.readAllBytes(f), copy.get(f)) ? 0 : 1;
    }
    assertEquals(3, differing);
  }
}
