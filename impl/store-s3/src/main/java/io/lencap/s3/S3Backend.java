package io.lencap.s3;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.UnavailableException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLock;
import io.lencap.spi.ObjectLockedException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.ObjectLockConfiguration;
import software.amazon.awssdk.services.s3.model.ObjectLockEnabled;
import software.amazon.awssdk.services.s3.model.ObjectLockRetentionMode;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.utils.ThreadFactoryBuilder;

/**
 * Objects as S3 objects under a key prefix, over the AWS SDK's async client (Netty, no native CRT).
 *
 * <p>{@link #put} is a plain PutObject: S3 replaces objects whole. {@link #putIfAbsent} is a PutObject
 * with {@code If-None-Match: *}: the server creates the object only if none exists and answers 412
 * otherwise, so of two processes committing one key exactly one wins (AWS S3 and Ceph RGW honour it).
 * The backend probes this when it opens. A server that ignores the header (OpenStack Swift's S3 layer)
 * would let two writers both "win"; such a store needs a lease or lock outside S3, which the backend
 * does not provide: it refuses to open unless {@code s3.singleWriter=true} promises that only one
 * process writes, in which case putIfAbsent checks with HEAD, then writes.
 *
 * <p>A PutObject is durable when it returns, so {@link #flush()} has nothing to do. {@link #put} sends
 * objects of 16 MiB and more as multipart uploads of 8 MiB parts; {@link #putIfAbsent} always sends one
 * PutObject (up to 5 GiB), because servers differ on conditions at CompleteMultipartUpload: Ceph RGW 16
 * ignores them and would let a second create replace the first. Checksums are computed and validated
 * only where the S3 API requires them (what Ceph RGW and other S3-compatible servers accept);
 * single-request puts carry a Content-MD5 instead, which they all check.
 *
 * <p>Listings report a modification time rounded up to the end of its second when the server gives whole
 * seconds (AWS does): the store's collection spares objects newer than a capture's start, and a
 * rounded-down time could make a fresh object look older than the capture that wrote it.
 */
final class S3Backend implements BlobBackend {
  private static final Logger log = LoggerFactory.getLogger(S3Backend.class);
  static final long MULTIPART_THRESHOLD = 16L << 20;
  static final long PART_SIZE = 8L << 20;
  /** Netty threads: they also do TLS, so one per core (at least two). */
  private static final int EVENT_LOOPS = Math.max(2, Runtime.getRuntime().availableProcessors());
  private static final String PROBE_PREFIX = ".lencap-probe/";
  /** Retries of a conditional put that the server refused with 409 (a concurrent conditional write). */
  private static final int CONFLICT_RETRIES = 5;
  /** Counts the HTTP attempts of one request, retries included. */
  private static final ExecutionAttribute<AtomicInteger> ATTEMPTS = new ExecutionAttribute<>("lencap.attempts");

  record Config(String bucket, String prefix, Optional<URI> endpoint, Region region, boolean pathStyle,
      boolean singleWriter, AwsCredentialsProvider credentials, Optional<S3ObjectLock.Spec> lock) {}

  private final Config config;
  private final EventLoopGroup loops;
  private final SdkAsyncHttpClient http;
  /** Reads, listings, deletes, conditional creates. */
  private final S3AsyncClient client;
  /** Overwriting writes: a single PutObject below the threshold, multipart above. */
  private final S3AsyncClient uploads;
  private final boolean conditionalCreate;
  /** Whether the bucket keeps versions (every Object Lock bucket does): then reads and deletes go by version. */
  private final boolean versioned;
  private final Optional<S3ObjectLock> objectLock;
  private final VersionedObjects versions;

  private S3Backend(Config config) throws IOException {
    this.config = config;
    // Our own event loops, so that close() need not sit out the SDK's two-second quiet period.
    this.loops = new NioEventLoopGroup(EVENT_LOOPS, new ThreadFactoryBuilder().threadNamePrefix("lencap-s3")
        .daemonThreads(true).build());
    this.http = NettyNioAsyncHttpClient.builder().eventLoopGroup(SdkEventLoopGroup.create(loops)).maxConcurrency(64)
        .build();
    this.client = builder(config, http).build();
    this.versions = new VersionedObjects(this, client, config.bucket(), config.prefix());
    this.uploads = builder(config, http).multipartEnabled(true)
        .multipartConfiguration(m -> m.thresholdInBytes(MULTIPART_THRESHOLD).minimumPartSizeInBytes(PART_SIZE))
        .build();
    try {
      ensureBucket();
      this.versioned = versioned();
      this.objectLock = config.lock().map(spec -> new S3ObjectLock(this, spec, Clock.systemUTC()));
      if (objectLock.isPresent()) {
        requireLockEnabled();
      }
      // A versioned bucket decides a create by version order instead (see createFirstVersion).
      this.conditionalCreate = versioned || probeConditionalCreate();
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
    if (!conditionalCreate) {
      log.warn("{} ignores conditional create (If-None-Match: *); s3.singleWriter=true: only this process may"
          + " write to it", describe());
    }
  }

  static S3Backend open(Config config) throws IOException {
    return new S3Backend(config);
  }

  private static S3AsyncClientBuilder builder(Config config, SdkAsyncHttpClient http) {
    S3AsyncClientBuilder b = S3AsyncClient.builder()
        .httpClient(http)
        .region(config.region())
        .credentialsProvider(config.credentials())
        .forcePathStyle(config.pathStyle())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .overrideConfiguration(o -> o.addExecutionInterceptor(new ExecutionInterceptor() {
          @Override
          public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
            AtomicInteger attempts = attributes.getAttribute(ATTEMPTS);
            if (attempts != null) {
              attempts.incrementAndGet();
            }
          }
        }));
    config.endpoint().ifPresent(b::endpointOverride);
    return b;
  }

  private void ensureBucket() throws IOException {
    try {
      await(client.headBucket(b -> b.bucket(config.bucket())), "find bucket " + config.bucket());
    } catch (IOException e) {
      if (status(e) != 404) {
        throw e;
      }
      try {
        // Object Lock can only be enabled when a bucket is created; it makes the bucket versioned.
        await(client.createBucket(b -> b.bucket(config.bucket()).objectLockEnabledForBucket(config.lock().isPresent()
            ? Boolean.TRUE : null)), "create bucket " + config.bucket());
        log.info("created bucket {}", config.bucket());
      } catch (IOException raced) {
        if (status(raced) != 409) { // BucketAlreadyOwnedByYou: another process created it first
          throw raced;
        }
      }
    }
  }

  private boolean versioned() throws IOException {
    BucketVersioningStatus status = await(client.getBucketVersioning(b -> b.bucket(config.bucket())),
        "read the versioning of bucket " + config.bucket()).status();
    return status == BucketVersioningStatus.ENABLED || status == BucketVersioningStatus.SUSPENDED;
  }

  private void requireLockEnabled() throws IOException {
    try {
      ObjectLockConfiguration lock = await(client.getObjectLockConfiguration(b -> b.bucket(config.bucket())),
          "read the object lock configuration of bucket " + config.bucket()).objectLockConfiguration();
      if (lock != null && lock.objectLockEnabled() == ObjectLockEnabled.ENABLED && versioned) {
        return;
      }
    } catch (IOException e) {
      if (status(e) != 404 && status(e) != 400) {
        throw e;
      }
    }
    throw new InvalidSpecException("storeOptions." + S3BackendProvider.LOCK_MODE, "bucket " + config.bucket()
        + " exists without Object Lock, which S3 enables only when a bucket is created; use a new bucket");
  }

  /** Whether the server refuses a second create of one key; fails when not and not single-writer. */
  private boolean probeConditionalCreate() throws IOException {
    String key = PROBE_PREFIX + UUID.randomUUID();
    byte[] probe = "lencap conditional-create probe".getBytes(StandardCharsets.UTF_8);
    try {
      upload(key, probe, true, new AtomicInteger());
      try {
        upload(key, probe, true, new AtomicInteger());
      } catch (IOException e) {
        int status = status(e);
        if (status == 412 || status == 409) {
          return true;
        }
        if (status != 400 && status != 501) {
          throw e;
        }
      }
    } finally {
      delete(key);
    }
    if (config.singleWriter()) {
      return false;
    }
    throw new UnavailableException(describe() + " does not honour conditional create (PUT with If-None-Match: *),"
        + " so two processes could both commit one checkpoint. Use a server that does (AWS S3, Ceph RGW), or,"
        + " if only one process ever writes to this store, set the store option " + S3BackendProvider.SINGLE_WRITER
        + "=true.");
  }

  /** Each put is an HTTP round trip: overlap many (the HTTP client allows 64 connections). */
  @Override
  public int concurrency() {
    return 32;
  }

  /** Every chunk: each object is a request, billed and paid in latency, however small. */
  @Override
  public int packBelow() {
    return Integer.MAX_VALUE;
  }

  @Override
  public String describe() {
    return "s3://" + config.bucket() + "/" + config.prefix()
        + config.endpoint().map(e -> " at " + e).orElse(" (" + config.region() + ")");
  }

  @Override
  public void put(String key, byte[] data) throws IOException {
    String name = resolve(key);
    upload(name, data, false, new AtomicInteger());
    if (versioned) { // an overwrite keeps the old version: drop it, unless a lock holds it until its date
      versions.dropOlder(name);
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws IOException {
    String name = resolve(key);
    if (versioned) {
      return versions.createFirst(name, data);
    }
    if (!conditionalCreate) {
      if (exists(key)) {
        return false;
      }
      upload(name, data, false, new AtomicInteger());
      return true;
    }
    for (int conflicts = 0; ; conflicts++) {
      AtomicInteger attempts = new AtomicInteger();
      try {
        upload(name, data, true, attempts);
        return true;
      } catch (IOException e) {
        int status = status(e);
        if (status == 412) {
          // A 412 after a retried attempt may answer our own first attempt, which the server did store.
          return attempts.get() > 1 && get(key).map(stored -> Arrays.equals(stored, data)).orElse(false);
        }
        if (status != 409 || conflicts >= CONFLICT_RETRIES) {
          throw e;
        }
        pause(conflicts);
      }
    }
  }

  PutObjectResponse upload(String name, byte[] data, boolean ifAbsent, AtomicInteger attempts)
      throws IOException {
    PutObjectRequest.Builder b = PutObjectRequest.builder().bucket(config.bucket()).key(config.prefix() + name)
        .contentLength((long) data.length)
        .overrideConfiguration(o -> o.putExecutionAttribute(ATTEMPTS, attempts));
    // A conditional create is always one PutObject: Ceph RGW 16 ignores the condition on
    // CompleteMultipartUpload (measured), and one request takes objects up to 5 GiB.
    boolean multipart = !ifAbsent && data.length >= MULTIPART_THRESHOLD;
    if (ifAbsent) {
      b.ifNoneMatch("*");
    }
    if (!multipart) {
      b.contentMD5(md5(data));
    }
    return await((multipart ? uploads : client).putObject(b.build(), AsyncRequestBody.fromBytes(data)),
        "put " + name);
  }

  @Override
  public Optional<byte[]> get(String key) throws IOException {
    String name = resolve(key);
    try {
      ResponseBytes<GetObjectResponse> bytes = await(client.getObject(
          b -> b.bucket(config.bucket()).key(config.prefix() + name), AsyncResponseTransformer.toBytes()), "get " + name);
      return Optional.of(bytes.asByteArrayUnsafe());
    } catch (IOException e) {
      if (status(e) != 404) {
        throw e;
      }
    }
    if (!versioned) {
      return Optional.empty();
    }
    // A delete marker hides the newest data version (a plain DELETE by someone else): read past it.
    Optional<ObjectVersion> newest = versions.versions(name).newest();
    if (newest.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(await(client.getObject(b -> b.bucket(config.bucket()).key(config.prefix() + name)
        .versionId(newest.get().versionId()), AsyncResponseTransformer.toBytes()), "get " + name).asByteArrayUnsafe());
  }

  /**
   * A GET with a {@code Range}: a chunk out of a pack costs its own bytes, not the pack's. A server that ignores the
   * range answers with the whole object, which is cut here.
   */
  @Override
  public Optional<byte[]> getRange(String key, long offset, int length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("range " + offset + "+" + length + " of " + key);
    }
    if (length == 0) {
      return exists(key) ? Optional.of(new byte[0]) : Optional.empty();
    }
    String name = resolve(key);
    String range = "bytes=" + offset + "-" + (offset + length - 1);
    try {
      return Optional.of(ranged(b -> b.key(config.prefix() + name).range(range), name, range, offset, length));
    } catch (IOException e) {
      if (status(e) != 404) {
        throw e;
      }
    }
    if (!versioned) {
      return Optional.empty();
    }
    Optional<ObjectVersion> newest = versions.versions(name).newest(); // past a delete marker, as get does
    if (newest.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(ranged(b -> b.key(config.prefix() + name).versionId(newest.get().versionId()).range(range),
        name, range, offset, length));
  }

  /** A ranged GET's bytes: none when the range starts at or past the object's end (416). */
  private byte[] ranged(java.util.function.Consumer<GetObjectRequest.Builder> request, String name, String range,
      long offset, int length) throws IOException {
    ResponseBytes<GetObjectResponse> got;
    try {
      got = await(client.getObject(b -> request.accept(b.bucket(config.bucket())),
          AsyncResponseTransformer.toBytes()), "get " + name + " " + range);
    } catch (IOException e) {
      if (status(e) == 416) {
        return new byte[0];
      }
      throw e;
    }
    byte[] bytes = got.asByteArrayUnsafe();
    if (got.response().contentRange() == null && bytes.length > length) { // the whole object: the range ignored
      return java.util.Arrays.copyOfRange(bytes, (int) Math.min(offset, bytes.length),
          (int) Math.min(offset + length, bytes.length));
    }
    return bytes;
  }

  @Override
  public boolean exists(String key) throws IOException {
    return headNewest(key).isPresent();
  }

  /** The newest data version's metadata, past any delete marker. */
  Optional<HeadObjectResponse> headNewest(String key) throws IOException {
    String name = resolve(key);
    try {
      return Optional.of(await(client.headObject(b -> b.bucket(config.bucket()).key(config.prefix() + name)),
          "head " + name));
    } catch (IOException e) {
      if (status(e) != 404) {
        throw e;
      }
    }
    if (!versioned) {
      return Optional.empty();
    }
    Optional<ObjectVersion> newest = versions.versions(name).newest();
    if (newest.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(await(client.headObject(b -> b.bucket(config.bucket()).key(config.prefix() + name)
        .versionId(newest.get().versionId())), "head " + name));
  }

  /**
   * Raises the newest version's retain-until date to {@code until} unless it is already as late; completes
   * with the date the object is locked until, or empty when HEAD finds no current version (404).
   */
  CompletableFuture<Optional<Instant>> retainAsync(String key, ObjectLockRetentionMode mode, Instant until) {
    String full = config.prefix() + resolve(key);
    return client.headObject(b -> b.bucket(config.bucket()).key(full)).thenCompose(head -> {
      Instant present = head.objectLockRetainUntilDate();
      if (present != null && !present.isBefore(until)) {
        return CompletableFuture.completedFuture(Optional.of(present));
      }
      return client.putObjectRetention(b -> b.bucket(config.bucket()).key(full).versionId(head.versionId())
          .retention(r -> r.mode(mode).retainUntilDate(until))).thenApply(r -> Optional.of(until));
    }).exceptionally(e -> {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof S3Exception s3 && s3.statusCode() == 404) {
        return Optional.empty();
      }
      throw e instanceof CompletionException c ? c : new CompletionException(e);
    });
  }

  void putRetention(String key, String versionId, ObjectLockRetentionMode mode, Instant until) throws IOException {
    String name = resolve(key);
    await(client.putObjectRetention(b -> b.bucket(config.bucket()).key(config.prefix() + name).versionId(versionId)
        .retention(r -> r.mode(mode).retainUntilDate(until))), "lock " + name + " until " + until);
  }

  @Override
  public List<BlobInfo> list(String prefix) throws IOException {
    if (!prefix.isEmpty()) {
      resolve(prefix.endsWith("/") ? prefix + "x" : prefix);
    }
    if (versioned) {
      return versions.list(prefix, PROBE_PREFIX);
    }
    List<BlobInfo> out = new ArrayList<>();
    String token = null;
    ListObjectsV2Response page;
    do {
      String continuation = token;
      page = await(client.listObjectsV2(b -> b.bucket(config.bucket()).prefix(config.prefix() + prefix)
          .continuationToken(continuation)), "list " + prefix);
      for (S3Object o : page.contents()) {
        String key = o.key().substring(config.prefix().length());
        if (!key.startsWith(PROBE_PREFIX)) {
          out.add(new BlobInfo(key, o.size(), latestPossible(o.lastModified())));
        }
      }
      token = page.nextContinuationToken();
    } while (Boolean.TRUE.equals(page.isTruncated()) && token != null);
    return out;
  }

  /** The latest instant a modification time truncated to seconds may stand for. */
  static Instant latestPossible(Instant t) {
    return t.getNano() == 0 ? t.plusMillis(999) : t;
  }

  /**
   * Deletes the object; in a versioned bucket every version and delete marker, so that the space is freed.
   * A version Object Lock retains is left, and the delete fails with {@link ObjectLockedException}.
   */
  @Override
  public void delete(String key) throws IOException {
    String name = resolve(key);
    if (!versioned) {
      await(client.deleteObject(b -> b.bucket(config.bucket()).key(config.prefix() + name)), "delete " + name);
      return;
    }
    versions.delete(name);
    objectLock.ifPresent(l -> l.forget(name));
  }

  @Override
  public Optional<ObjectLock> objectLock() {
    return objectLock.map(l -> l);
  }

  @Override
  public void close() {
    uploads.close();
    client.close();
    http.close();
    // A short quiet period lets the connection pool's last close tasks run on the loops.
    loops.shutdownGracefully(100, 10_000, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
  }

  private String resolve(String key) {
    if (key.isEmpty() || key.startsWith("/") || key.contains("..") || key.contains("//") || key.contains("\\")
        || !key.chars().allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || c == '/' || c == '.'
        || c == '_' || c == '-'))) {
      throw new IllegalArgumentException("bad object key '" + key + "'");
    }
    return key;
  }

  // ---- blocking on the async client: the backend's callers are the store's own worker threads ----

  <T> T await(CompletableFuture<T> call, String what) throws IOException {
    try {
      return call.get();
    } catch (InterruptedException e) {
      call.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(describe() + ": " + what + " interrupted");
    } catch (ExecutionException | CompletionException e) {
      throw failure(e.getCause() == null ? e : e.getCause(), what);
    }
  }

  /** One place that says what failed; never includes credentials (the SDK's messages carry none). */
  private IOException failure(Throwable t, String what) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    String where = describe() + ": " + what + ": ";
    if (t instanceof S3Exception s3) {
      String code = s3.awsErrorDetails() == null ? "" : s3.awsErrorDetails().errorCode();
      String hint = s3.statusCode() == 403 ? " (check the store secrets s3.accessKey and s3.secretKey)" : "";
      return new S3Failure(where + "HTTP " + s3.statusCode() + " " + code + hint, s3.statusCode(), s3);
    }
    if (t instanceof SdkException) {
      return new S3Failure(where + t.getMessage(), 0, t);
    }
    if (t instanceof IOException io) {
      return io;
    }
    return new IOException(where + t, t);
  }

  static int status(IOException e) {
    return e instanceof S3Failure f ? f.status : 0;
  }

  /** A failed S3 call with its HTTP status (0 when no answer came). */
  private static final class S3Failure extends IOException {
    private static final long serialVersionUID = 1L;
    private final int status;

    S3Failure(String message, int status, Throwable cause) {
      super(message, cause);
      this.status = status;
    }
  }

  static String md5(byte[] data) {
    try {
      return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks MD5", e);
    }
  }

  private static void pause(int attempt) throws InterruptedIOException {
    try {
      Thread.sleep(50L << attempt); // back off from a concurrent conditional write, as S3 advises on 409
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    }
  }
}
