package io.lencap.iscsi;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.iscsi.address.IscsiLocator;
import io.lencap.spi.Chunking;
import java.time.Duration;
import java.util.Optional;

/**
 * A resource read as an iSCSI LUN: address, CHAP credentials and tunables, each validated naming its field.
 * {@code targetChap}, when present, is the target's own credential for mutual CHAP.
 */
record LunSpec(String id, LunAddress address, Optional<Chap> chap, Optional<Chap> targetChap,
    IscsiSession.Options options, int chunkSize) {

  /** The CHAP keys, spelled once in {@link IscsiLocator} for the modules that write them too. */
  static final String CHAP_USER = IscsiLocator.CHAP_USER;
  static final String CHAP_SECRET = IscsiLocator.CHAP_SECRET;
  /** Mutual CHAP: the name and secret the target must prove it knows. */
  static final String CHAP_TARGET_USER = IscsiLocator.CHAP_TARGET_USER;
  static final String CHAP_TARGET_SECRET = IscsiLocator.CHAP_TARGET_SECRET;
  static final String CHUNK_SIZE = "iscsi.chunkSize";
  static final String QUEUE_DEPTH = "iscsi.queueDepth";
  static final String TIMEOUT_SECONDS = "iscsi.timeoutSeconds";

  static LunSpec of(Resource resource) {
    String field = "resources[" + resource.id() + "]";
    LunAddress address;
    try {
      address = LunAddress.parse(resource.locator());
    } catch (IllegalArgumentException e) {
      throw new InvalidSpecException(field + ".locator", e.getMessage());
    }
    Optional<String> user = resource.property(CHAP_USER);
    Optional<Secret> secret = resource.secret(CHAP_SECRET);
    if (user.isPresent() != secret.isPresent()) {
      throw new InvalidSpecException(user.isPresent() ? field + ".secrets." + CHAP_SECRET
        : field + ".properties." + CHAP_USER, "CHAP needs both the property " + CHAP_USER + " and the secret "
        + CHAP_SECRET);
    }
    Optional<Chap> chap = user.map(u -> Chap.of(u, secret.get().reveal()));
    Optional<Chap> targetChap = targetChap(resource, field, chap);
    IscsiSession.Options defaults = IscsiSession.Options.defaults();
    int depth = intProperty(resource, field, QUEUE_DEPTH, defaults.queueDepth(), 1, 128);
    int timeout = intProperty(resource, field, TIMEOUT_SECONDS, (int) defaults.timeout().toSeconds(), 1, 3600);
    int chunk = intProperty(resource, field, CHUNK_SIZE, Chunking.DEFAULT_BLOCK_SIZE, 4096, Chunking.MAX_CHUNK);
    if (Integer.bitCount(chunk) != 1) {
      throw new InvalidSpecException(field + ".properties." + CHUNK_SIZE, "must be a power of two, was " + chunk);
    }
    IscsiSession.Options options = new IscsiSession.Options(defaults.initiatorName(),
      defaults.maxRecvDataSegmentLength(), defaults.maxBurstLength(), Duration.ofSeconds(timeout), depth);
    return new LunSpec(resource.id(), address, chap, targetChap, options, chunk);
  }

  private static Optional<Chap> targetChap(Resource resource, String field, Optional<Chap> chap) {
    Optional<String> user = resource.property(CHAP_TARGET_USER);
    Optional<Secret> secret = resource.secret(CHAP_TARGET_SECRET);
    if (user.isEmpty() && secret.isEmpty()) {
      return Optional.empty();
    }
    if (user.isPresent() != secret.isPresent()) {
      throw new InvalidSpecException(user.isPresent() ? field + ".secrets." + CHAP_TARGET_SECRET
        : field + ".properties." + CHAP_TARGET_USER, "mutual CHAP needs both the property " + CHAP_TARGET_USER
        + " and the secret " + CHAP_TARGET_SECRET);
    }
    if (chap.isEmpty()) {
      throw new InvalidSpecException(field + ".properties." + CHAP_USER, "mutual CHAP (" + CHAP_TARGET_USER
        + ") also needs the initiator's credentials " + CHAP_USER + " and " + CHAP_SECRET);
    }
    Chap target = Chap.of(user.get(), secret.get().reveal());
    if (target.sharesSecretWith(chap.get())) {
      // RFC 7143 12.1.3: a secret must not serve both directions (a target could answer with ours).
      throw new InvalidSpecException(field + ".secrets." + CHAP_TARGET_SECRET, "must differ from the secret "
        + CHAP_SECRET);
    }
    return Optional.of(target);
  }

  private static int intProperty(Resource r, String field, String key, int fallback, int min, int max) {
    Optional<String> text = r.property(key);
    if (text.isEmpty()) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(text.get().strip());
      if (value >= min && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new InvalidSpecException(field + ".properties." + key, "must be a number in " + min + ".." + max
      + ", was '" + text.get() + "'");
  }

  IscsiSession connect() throws IscsiException {
    return IscsiSession.open(address, chap, targetChap, options);
  }

  @Override
  public String toString() {
    return "LunSpec[" + id + " " + address + (chap.isPresent() ? targetChap.isPresent() ? " mutual chap" : " chap" : "") + "]";
  }
}
