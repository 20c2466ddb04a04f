package io.lencap.s3;

import io.lencap.api.Secret;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;

/** s3proxy in this JVM on a free port, storing in a directory: a fast, real S3 protocol peer for tests. */
final class S3ProxyServer implements AutoCloseable {
  static final String ACCESS_KEY = "lencap-test-access";
  static final String SECRET_KEY = "lencap-test-secret-never-logged";
  private final S3Proxy proxy;

  S3ProxyServer(Path directory) throws Exception {
    this(directory, true);
  }

  /** Without authentication when {@code authenticate} is false (for a proxy in front that alters requests). */
  S3ProxyServer(Path directory, boolean authenticate) throws Exception {
    Files.createDirectories(directory);
    Properties p = new Properties();
    p.setProperty("jclouds.filesystem.basedir", directory.toString());
    proxy = S3Proxy.builder()
        .blobStore(BlobStores.create("filesystem-nio2", p))
        .endpoint(URI.create("http://127.0.0.1:0"))
        .awsAuthentication(authenticate ? AuthenticationType.AWS_V2_OR_V4 : AuthenticationType.NONE, ACCESS_KEY, SECRET_KEY)
        .ignoreUnknownHeaders(true)
        .build();
    proxy.start();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("s3proxy did not start within 30 s: " + proxy.getState());
      }
      Thread.onSpinWait();
    }
  }

  String endpoint() {
    return "http://127.0.0.1:" + proxy.getPort();
  }

  Map<String, String> options() {
    return Map.of("s3.endpoint", endpoint());
  }

  static Map<String, Secret> secrets() {
    return Map.of("s3.accessKey", Secret.of(ACCESS_KEY), "s3.secretKey", Secret.of(SECRET_KEY));
  }

  @Override
  public void close() throws Exception {
    proxy.stop();
  }
}
