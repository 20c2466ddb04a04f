package io.lencap.hdfs;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Secret;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;

/**
 * Opens an HDFS store: {@code hdfs://namenode:port/path} (or {@code hdfs://nameservice/path} with HA
 * settings). Store options:
 * <ul>
 *   <li>{@code replication}: copies HDFS keeps of each object (the cluster's {@code dfs.replication}
 *       unless set);
 *   <li>{@code hdfs.user}: the HDFS user to act as (the process's user unless set);
 *   <li>{@code hdfs.conf.KEY}: any Hadoop client setting, e.g. {@code hdfs.conf.dfs.nameservices}.
 * </ul>
 *
 * <p>The backend shortens the client's wait between retries to close a file (objects are small files):
 * {@code dfs.client.block.write.locateFollowingBlock.initial.delay.ms} 25 and {@code ...retries} 10;
 * {@code hdfs.conf.} options override that, and Hadoop's configuration files on the class path apply
 * to everything else. The backend takes no store secrets: Kerberos is not handled here, a process that
 * needs it logs in through Hadoop's {@code UserGroupInformation} before opening Lencap.
 */
public final class HdfsBackendProvider implements BlobBackendProvider {
  static final String REPLICATION = "replication";
  static final String USER = "hdfs.user";
  static final String CONF_PREFIX = "hdfs.conf.";
  private static final String COMPLETE_RETRY_DELAY = "dfs.client.block.write.locateFollowingBlock.initial.delay.ms";
  private static final String COMPLETE_RETRIES = "dfs.client.block.write.locateFollowingBlock.retries";

  @Override
  public String name() {
    return "hdfs";
  }

  @Override
  public boolean supports(URI store) {
    return "hdfs".equalsIgnoreCase(store.getScheme());
  }

  @Override
  public BlobBackend open(URI store, Map<String, String> options, Map<String, Secret> secrets) throws IOException {
    if (store.getAuthority() == null || store.getAuthority().isEmpty()) {
      throw new InvalidSpecException("store", "an HDFS store needs the name node: hdfs://namenode:port/path, was "
          + store);
    }
    if (store.getPath() == null || store.getPath().isEmpty() || "/".equals(store.getPath())) {
      throw new InvalidSpecException("store", "an HDFS store needs a directory: hdfs://namenode:port/path, was "
          + store);
    }
    Optional<Short> replication = replication(options.get(REPLICATION));
    Configuration conf = new Configuration();
    // Every object is a small file, and closing one waits until the NameNode has heard from a DataNode
    // about its block; the client's first retry waits 400 ms by default, which made a 256 KiB write take
    // 50-90 ms here instead of 20-30. Retry sooner and more often (25 s in all instead of 12);
    // hdfs.conf.* options override this.
    conf.set(COMPLETE_RETRY_DELAY, "25");
    conf.set(COMPLETE_RETRIES, "10");
    options.forEach((k, v) -> {
      if (k.startsWith(CONF_PREFIX)) {
        conf.set(k.substring(CONF_PREFIX.length()), v);
      }
    });
    URI fsUri = URI.create("hdfs://" + store.getAuthority());
    FileSystem fs;
    try {
      String user = options.get(USER);
      fs = user == null ? FileSystem.newInstance(fsUri, conf) : FileSystem.newInstance(fsUri, conf, user);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while connecting to " + fsUri);
    }
    if (!(fs instanceof DistributedFileSystem dfs)) {
      fs.close();
      throw new InvalidSpecException("store", "hdfs: must be served by HDFS (atomic rename with and without"
          + " overwrite), but the Hadoop configuration maps it to " + fs.getClass().getName());
    }
    try {
      return new HdfsBackend(dfs, new Path(store.getPath()), replication);
    } catch (IOException | RuntimeException e) {
      fs.close();
      throw e;
    }
  }

  private static Optional<Short> replication(String value) {
    if (value == null) {
      return Optional.empty();
    }
    try {
      short r = Short.parseShort(value.trim());
      if (r >= 1) {
        return Optional.of(r);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new InvalidSpecException("storeOptions." + REPLICATION, "must be a whole number from 1 to "
        + Short.MAX_VALUE + ", was '" + value + "'");
  }
}
