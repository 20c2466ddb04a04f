package io.lencap.hdfs;

import java.util.Map;
import java.util.Random;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.junit.jupiter.api.Test;

class TmpCostIT {
  @Test
  void cost() throws Exception {
    try (MiniHdfs hdfs = new MiniHdfs("cost")) {
      DistributedFileSystem fs = hdfs.cluster.getFileSystem();
      byte[] b = new byte[256 << 10];
      new Random(1).nextBytes(b);
      int n = 60;
      for (int pass = 0; pass < 2; pass++) {
        long t = System.nanoTime();
        for (int i = 0; i < n; i++) {
          try (FSDataOutputStream out = fs.create(new Path("/a/" + pass + "/" + i), (short) 3)) { out.write(b); }
        }
        System.out.printf("create+write+close: %.1f ms%n", (System.nanoTime() - t) / 1e6 / n);
        t = System.nanoTime();
        for (int i = 0; i < n; i++) {
          try (FSDataOutputStream out = fs.create(new Path("/b/" + pass + "/" + i), (short) 3)) { out.write(b); out.hsync(); }
        }
        System.out.printf("+hsync: %.1f ms%n", (System.nanoTime() - t) / 1e6 / n);
        t = System.nanoTime();
        for (int i = 0; i < n; i++) {
          fs.rename(new Path("/b/" + pass + "/" + i), new Path("/a/" + pass + "/x" + i), Options.Rename.NONE);
        }
        System.out.printf("rename: %.1f ms%n", (System.nanoTime() - t) / 1e6 / n);
        t = System.nanoTime();
        for (int i = 0; i < n; i++) {
          fs.exists(new Path("/c/" + i));
        }
        System.out.printf("exists: %.1f ms%n", (System.nanoTime() - t) / 1e6 / n);
        try (var backend = new HdfsBackendProvider().open(hdfs.uri("s" + pass), Map.of(), Map.of())) {
          t = System.nanoTime();
          for (int i = 0; i < n; i++) {
            backend.putIfAbsent("chunks/" + (i % 16) + "/" + i, b);
          }
          System.out.printf("backend putIfAbsent: %.1f ms%n", (System.nanoTime() - t) / 1e6 / n);
        }
      }
    }
  }
}
