package io.lencap.s3;

import io.lencap.api.Lencap;
import io.lencap.api.Secret;
import io.lencap.api.SyncReport;
import java.net.URI;
import java.nio.file.Path;

/**
 * A process that syncs one group from a local store to S3 and says {@code @done COPIED SENT}: the test
 * kills it with SIGKILL mid-way (see {@link HeldS3BackendProvider}). Arguments: local store directory,
 * target store URI, encapsulation. S3 endpoint and keys come in the environment.
 */
public final class SyncWorker {
  public static void main(String[] args) throws Exception {
    Lencap.Builder target = Lencap.builder().store(URI.create(args[1]))
        .storeOption("s3.endpoint", System.getenv("S3_ENDPOINT"))
        .storeOption("s3.region", System.getenv("S3_REGION"))
        .storeSecret("s3.accessKey", Secret.of(System.getenv("S3_ACCESS_KEY")))
        .storeSecret("s3.secretKey", Secret.of(System.getenv("S3_SECRET_KEY")));
    try (Lencap source = Lencap.builder().store(Path.of(args[0])).build(); Lencap to = target.build()) {
      SyncReport r = source.sync(args[2], to).join();
      System.out.println("@done " + r.copied().size() + " " + r.chunksSent());
    }
  }
}
