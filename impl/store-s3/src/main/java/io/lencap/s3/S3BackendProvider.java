package io.lencap.s3;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Secret;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.model.ObjectLockRetentionMode;

/**
 * Opens an S3 store: {@code s3://bucket/prefix} (the prefix may be empty). Works with AWS S3 and with
 * S3-compatible servers such as Ceph RGW. Store options:
 * <ul>
 *   <li>{@code s3.endpoint}: the server, e.g. {@code http://127.0.0.1:7480} (AWS unless set);
 *   <li>{@code s3.region}: signing region ({@code us-east-1} unless set);
 *   <li>{@code s3.pathStyle}: {@code true} for {@code http://host/bucket/key} addressing, {@code false} for
 *       virtual hosts ({@code true} unless set when {@code s3.endpoint} is set, else {@code false});
 *   <li>{@code s3.singleWriter}: {@code true} accepts a server without conditional create, see
 *       {@link S3Backend}.
 *   <li>{@code s3.lock.mode}: {@code governance} or {@code compliance} makes checkpoints immutable with S3
 *       Object Lock: each committed manifest and every chunk it names is retained for {@code s3.lock.days}
 *       (required with it, at least 1) from its commit, rounded up to the next midnight UTC; nobody can
 *       delete them before (with governance, only a user granted {@code s3:BypassGovernanceRetention}).
 *       The bucket must be created with Object Lock, which the backend does when the bucket is absent.
 * </ul>
 * Store secrets {@code s3.accessKey} and {@code s3.secretKey} (and {@code s3.sessionToken} for
 * temporary credentials) give the credentials; without them the AWS SDK's default chain (environment,
 * profile, instance role) applies. They are never logged.
 */
public final class S3BackendProvider implements BlobBackendProvider {
  static final String ENDPOINT = "s3.endpoint";
  static final String REGION = "s3.region";
  static final String PATH_STYLE = "s3.pathStyle";
  static final String SINGLE_WRITER = "s3.singleWriter";
  static final String LOCK_MODE = "s3.lock.mode";
  static final String LOCK_DAYS = "s3.lock.days";
  /** S3's own bound on a retention period (100 years). */
  private static final int MAX_LOCK_DAYS = 36_500;
  static final String ACCESS_KEY = "s3.accessKey";
  static final String SECRET_KEY = "s3.secretKey";
  static final String SESSION_TOKEN = "s3.sessionToken";

  @Override
  public String name() {
    return "s3";
  }

  @Override
  public boolean supports(URI store) {
    return "s3".equalsIgnoreCase(store.getScheme());
  }

  @Override
  public BlobBackend open(URI store, Map<String, String> options, Map<String, Secret> secrets) throws IOException {
    String bucket = store.getAuthority();
    if (bucket == null || bucket.isEmpty()) {
      throw new InvalidSpecException("store", "an S3 store needs a bucket: s3://bucket/prefix, was " + store);
    }
    String path = store.getPath() == null ? "" : store.getPath().replaceAll("^/+|/+$", "");
    Optional<URI> endpoint = Optional.ofNullable(options.get(ENDPOINT)).map(S3BackendProvider::endpoint);
    String region = options.getOrDefault(REGION, "us-east-1");
    if (region.isBlank()) {
      throw new InvalidSpecException("storeOptions." + REGION, "must not be blank");
    }
    S3Backend.Config config = new S3Backend.Config(bucket, path.isEmpty() ? "" : path + "/", endpoint,
        Region.of(region), flag(options, PATH_STYLE, endpoint.isPresent()), flag(options, SINGLE_WRITER, false),
        credentials(secrets), lock(options));
    return S3Backend.open(config);
  }

  static Optional<S3ObjectLock.Spec> lock(Map<String, String> options) {
    String mode = options.get(LOCK_MODE);
    String days = options.get(LOCK_DAYS);
    if (mode == null) {
      if (days != null) {
        throw new InvalidSpecException("storeOptions." + LOCK_DAYS, "needs " + LOCK_MODE + " (governance or compliance)");
      }
      return Optional.empty();
    }
    ObjectLockRetentionMode m = switch (mode.trim().toLowerCase(Locale.ROOT)) {
      case "governance" -> ObjectLockRetentionMode.GOVERNANCE;
      case "compliance" -> ObjectLockRetentionMode.COMPLIANCE;
      default -> throw new InvalidSpecException("storeOptions." + LOCK_MODE,
          "must be governance or compliance, was '" + mode + "'");
    };
    if (days == null) {
      throw new InvalidSpecException("storeOptions." + LOCK_DAYS, "is required with " + LOCK_MODE
          + ": the number of days a checkpoint stays immutable");
    }
    int n;
    try {
      n = Integer.parseInt(days.trim());
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < 1 || n > MAX_LOCK_DAYS) {
      throw new InvalidSpecException("storeOptions." + LOCK_DAYS, "must be a whole number of days from 1 to "
          + MAX_LOCK_DAYS + ", was '" + days + "'");
    }
    return Optional.of(new S3ObjectLock.Spec(m, n));
  }

  private static URI endpoint(String value) {
    try {
      URI uri = URI.create(value.trim());
      if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
          && uri.getUserInfo() == null) {
        return uri;
      }
    } catch (IllegalArgumentException e) {
      // reported below
    }
    throw new InvalidSpecException("storeOptions." + ENDPOINT, "must be an http:// or https:// URL without"
        + " credentials, e.g. http://127.0.0.1:7480");
  }

  private static boolean flag(Map<String, String> options, String key, boolean otherwise) {
    String v = options.get(key);
    if (v == null) {
      return otherwise;
    }
    if (v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(v);
    }
    throw new InvalidSpecException("storeOptions." + key, "must be true or false, was '" + v + "'");
  }

  private static AwsCredentialsProvider credentials(Map<String, Secret> secrets) {
    Secret access = secrets.get(ACCESS_KEY);
    Secret secret = secrets.get(SECRET_KEY);
    Secret token = secrets.get(SESSION_TOKEN);
    if (access == null && secret == null) {
      if (token != null) {
        throw new InvalidSpecException("storeSecrets." + SESSION_TOKEN, "needs s3.accessKey and s3.secretKey");
      }
      return DefaultCredentialsProvider.builder().build();
    }
    if (access == null || secret == null) {
      throw new InvalidSpecException("storeSecrets." + (access == null ? ACCESS_KEY : SECRET_KEY),
          "give both s3.accessKey and s3.secretKey, or neither");
    }
    return StaticCredentialsProvider.create(token == null
        ? AwsBasicCredentials.create(access.reveal(), secret.reveal())
        : AwsSessionCredentials.create(access.reveal(), secret.reveal(), token.reveal()));
  }
}
