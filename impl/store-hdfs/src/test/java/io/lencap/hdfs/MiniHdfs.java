package io.lencap.hdfs;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A real HDFS in this JVM: one NameNode and three DataNodes, replication 3, under target/. */
final class MiniHdfs implements AutoCloseable {
  static final int DATANODES = 3;
  final MiniDFSCluster cluster;

  MiniHdfs(String name) throws IOException {
    Path base = Files.createDirectories(Path.of("target", "minidfs", name)).toAbsolutePath();
    Configuration conf = new Configuration();
    conf.setInt(DFSConfigKeys.DFS_REPLICATION_KEY, DATANODES);
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
    // A stopped DataNode counts as dead after seconds, not the default ten minutes.
    conf.setInt(DFSConfigKeys.DFS_NAMENODE_HEARTBEAT_RECHECK_INTERVAL_KEY, 2000);
    conf.setLong(DFSConfigKeys.DFS_HEARTBEAT_INTERVAL_KEY, 1);
    cluster = new MiniDFSCluster.Builder(conf, new File(base.toString())).numDataNodes(DATANODES).format(true).build();
    cluster.waitActive();
  }

  /** {@code hdfs://localhost:port/dir}. */
  URI uri(String dir) {
    return URI.create(cluster.getURI() + "/" + dir);
  }

  @Override
  public void close() {
    cluster.shutdown(true);
  }
}
