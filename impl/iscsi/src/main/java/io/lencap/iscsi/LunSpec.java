package io.lencap.iscsi;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.spi.Chunking;
import java.time.Duration;
import java.util.Optional;

/** A resource read as an iSCSI LUN: address, CHAP credentials and tunables, each validated naming its field. */
record LunSpec(String id, LunAddress address, Optional<Chap> chap, IscsiSession.Options options, int chunkSize) {

  static final String CHAP_USER = "chap.user";
  static final String CHAP_SECRET = "chap.secret";
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
    IscsiSession.Options defaults = IscsiSession.Options.defaults();
    int depth = intProperty(resource, field, QUEUE_DEPTH, defaults.queueDepth(), 1, 128);
    int timeout = intProperty(resource, field, TIMEOUT_SECONDS, (int) defaults.timeout().toSeconds(), 1, 3600);
    int chunk = intProperty(resource, field, CHUNK_SIZE, Chunking.DEFAULT_BLOCK_SIZE, 4096, Chunking.MAX_CHUNK);
    if (Integer.bitCount(chunk) != 1) {
      throw new InvalidSpecException(field + ".properties." + CHUNK_SIZE, "must be a power of two, was " + chunk);
    }
    IscsiSession.Options options = new IscsiSession.Options(defaults.initiatorName(),
      defaults.maxRecvDataSegmentLength(), defaults.maxBurstLength(), Duration.ofSeconds(timeout), depth);
    return new LunSpec(resource.id(), address, chap, options, chunk);
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
    return IscsiSession.open(address, chap, options);
  }

  @Override
  public String toString() {
    return "LunSpec[" + id + " " + address + (chap.isPresent() ? " chap" : "") + "]";
  }
}
