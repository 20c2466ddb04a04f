package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.DrillPlan;
import io.lencap.api.DrillReport;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.iscsi.IstgtLuns;
import io.lencap.nfs.NfsExports;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Lencap.drill} of a group of a local tree, an NFS export (NFS-Ganesha) and an iSCSI LUN (istgt): the sandbox
 * (another directory, another export path, another LUN) holds the checkpoint while it is checked, and afterwards
 * nothing of it is left (directories gone, the LUN zeroed); the group is byte-identical before and after.
 */
class MixedGroupDrillIT {
  private static final int LUN_BYTES = 8 << 20;

  @TempDir
  Path tmp;

  @Test
  void drillsATreeAnExportAndALunThenLeavesNothing() throws Exception {
    Path luns = Files.createDirectories(tmp.resolve("istgt"));
    byte[] lun = new byte[LUN_BYTES];
    new Random(17).nextBytes(lun);
    Files.write(IstgtLuns.lunFile(luns, "drill", 0), lun);
    try (NfsExports nfs = NfsExports.start("drill");
        IstgtLuns istgt = IstgtLuns.start(luns, "drill", LUN_BYTES, LUN_BYTES);
        Lencap lencap = Lencap.builder().store(tmp.resolve("store")).build()) {
      Path tree = files(tmp.resolve("tree"), 1);
      Path export = files(nfs.dir("drill").resolve("job"), 2);
      Path exportSandbox = Files.createDirectory(nfs.dir("drill").resolve("job-drill")); // an NFS root must exist
      Path treeSandbox = tmp.resolve("tree-drill");
      Encapsulation group = Encapsulation.builder("mixed")
          .resource(Resource.of("tree", ResourceType.FILE_TREE, tree.toUri().toString()))
          .resource(Resource.of("nas", ResourceType.FILE_TREE, nfs.locator("drill") + "/job"))
          .resource(Resource.builder("lun").type(ResourceType.BLOCK_VOLUME).locator(istgt.locator(0)).build())
          .build();
      Checkpoint cp = lencap.capture(group).join();
      Map<String, String> before = state(tree, export, istgt.lunFile(0));

      Map<String, String> sandbox = new ConcurrentHashMap<>();
      DrillReport report = lencap.drill(group, cp.id(), DrillPlan.builder()
          .sandbox(Placement.builder()
              .move("tree", treeSandbox.toUri())
              .move("nas", URI.create(nfs.locator("drill") + "/job-drill"))
              .move("lun", istgt.locator(1))
              .build())
          .check(s -> {
            sandbox.putAll(state(treeSandbox, exportSandbox, istgt.lunFile(1)));
            return "sandbox read";
          }).build()).join();
      System.out.println("drill of tree + NFS + LUN: " + report);

      assertTrue(report.passed(), report.toString());
      assertEquals(before, sandbox, "the sandbox did not hold the checkpoint");
      assertEquals(before, state(tree, export, istgt.lunFile(0)), "the drill changed the group");
      assertFalse(Files.exists(treeSandbox), "the tree's sandbox is left");
      assertFalse(Files.exists(exportSandbox), "the export's sandbox is left");
      assertTrue(zero(istgt.lunFile(1)), "the sandbox LUN still holds data");
    }
  }

  /** A small tree of files (a subdirectory, a larger file) under {@code dir}. */
  private static Path files(Path dir, int seed) throws IOException {
    Random random = new Random(seed);
    Files.createDirectories(dir.resolve("sub"));
    Files.writeString(dir.resolve("progress.txt"), "step " + seed + "\n");
    byte[] data = new byte[300_000];
    random.nextBytes(data);
    Files.write(dir.resolve("sub/data.bin"), data);
    return dir;
  }

  /** Each member's content, by member: the trees' paths and bytes, the LUN's bytes, as SHA-256. */
  private static Map<String, String> state(Path tree, Path export, Path lunFile) throws IOException {
    Map<String, String> out = new TreeMap<>();
    out.put("tree", treeHash(tree));
    out.put("nas", treeHash(export));
    out.put("lun", sha256(Files.readAllBytes(lunFile)));
    return out;
  }

  private static String treeHash(Path root) throws IOException {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted().toList()) {
        all.append(root.relativize(p)).append(':')
            .append(Files.isRegularFile(p) ? sha256(Files.readAllBytes(p)) : "dir").append('\n');
      }
    }
    return sha256(all.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static boolean zero(Path file) throws IOException {
    for (byte b : Files.readAllBytes(file)) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
