package io.lencap.s3;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Secret;
import io.lencap.testing.FileVolumeProvider;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One scheduler process for the two-process test: captures one encapsulation (a single volume) into a
 * shared S3 store, with retention, on commands read line by line from stdin:
 * <ul>
 *   <li>{@code capture}: rewrites the volume's own half, captures, answers {@code @committed ID SHA STORED};
 *   <li>{@code capture-paused}: the same, but answers {@code @mid} once half the volume is transferred
 *       and waits for {@code continue} before going on;
 *   <li>{@code exit}.
 * </ul>
 * The volume's first half is new in every round, its second half the same in every worker (chunks
 * shared across encapsulations): when a worker pauses mid-transfer, its new chunks are in the store but
 * no manifest names them yet, which is what another process's collection must spare. Arguments: store URI, encapsulation name, volume path, keepLast, then store options as {@code key=value}. S3
 * endpoint and keys come in the environment (S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY).
 */
public final class CaptureWorker {
  static final int VOLUME_BYTES = 8 << 20;

  public static void main(String[] args) throws Exception {
    URI store = URI.create(args[0]);
    String name = args[1];
    Path volume = Path.of(args[2]);
    int keepLast = Integer.parseInt(args[3]);
    BlockingQueue<String> commands = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          commands.add(line.trim());
        }
      } catch (Exception e) {
        // parent gone
      }
      commands.add("exit");
    }, "commands");
    reader.setDaemon(true);
    reader.start();

    Encapsulation group = Encapsulation.builder(name)
        .resource(Resource.of("volume", ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + volume))
        .policy(ResiliencyPolicy.builder().keepLast(keepLast).build())
        .build();
    Lencap.Builder builder = Lencap.builder().store(store)
        .storeOption("s3.endpoint", System.getenv("S3_ENDPOINT"))
        .storeOption("s3.region", System.getenv("S3_REGION"))
        .storeSecret("s3.accessKey", Secret.of(System.getenv("S3_ACCESS_KEY")))
        .storeSecret("s3.secretKey", Secret.of(System.getenv("S3_SECRET_KEY")));
    for (int i = 4; i < args.length; i++) {
      String[] option = args[i].split("=", 2);
      builder.storeOption(option[0], option[1]);
    }
    try (Lencap lencap = builder.build()) {
      say("ready");
      for (int round = 0; ; round++) {
        String command = commands.take();
        if (command.equals("exit")) {
          break;
        }
        byte[] content = content(name, round);
        Files.write(volume, content);
        if (command.equals("capture-paused")) {
          FileVolumeProvider.MID_TRANSFER.put(volume.toString(), () -> {
            say("mid");
            try {
              String next = commands.poll(5, TimeUnit.MINUTES);
              if (!"continue".equals(next)) {
                throw new IllegalStateException("expected continue, got " + next);
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException(e);
            }
          });
        }
        Checkpoint cp = lencap.capture(group).get(5, TimeUnit.MINUTES);
        say("committed " + cp.id() + " " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content))
            + " " + cp.storedBytes());
      }
    } catch (Throwable t) {
      t.printStackTrace();
      say("failed " + t);
      System.exit(1);
    }
    say("bye");
  }

  /** The volume in a round: a half of its own, new each round, then a half every worker shares. */
  static byte[] content(String name, int round) {
    byte[] b = new byte[VOLUME_BYTES];
    new Random(42).nextBytes(b);
    byte[] own = new byte[VOLUME_BYTES / 2];
    new Random(name.hashCode() * 1000L + round).nextBytes(own);
    System.arraycopy(own, 0, b, 0, own.length);
    return b;
  }

  private static void say(String line) {
    System.out.println("@" + line);
    System.out.flush();
  }
}
