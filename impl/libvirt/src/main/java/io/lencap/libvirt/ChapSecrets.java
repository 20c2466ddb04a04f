package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.iscsi.address.IscsiLocator;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.libvirt.Connect;
import org.libvirt.SecretUsageType;

/**
 * The CHAP credentials of a LUN member a restored VM follows, handed to libvirt: QEMU logs in to the LUN itself,
 * so the password goes into a libvirt secret of usage type iSCSI, which the disk's {@code <auth>} names by usage.
 * The keys are the iSCSI provider's ({@link IscsiLocator}): property {@code chap.user}, secret {@code chap.secret}.
 */
final class ChapSecrets {
  static final String USER = IscsiLocator.CHAP_USER;
  static final String SECRET = IscsiLocator.CHAP_SECRET;

  private ChapSecrets() {}

  /**
   * The CHAP login the LUN member carries, if any. The disk's {@code <auth>} then names the user and the secret
   * {@link #put} defines; without CHAP on the member the disk keeps the auth it was captured with (the new LUN
   * may take the same credentials, which the member need not repeat).
   */
  static Optional<DomainXml.LunAuth> auth(Resource lun) {
    Optional<String> user = lun.property(USER);
    Optional<Secret> secret = lun.secret(SECRET);
    if (user.isPresent() != secret.isPresent()) {
      String field = "resources[" + lun.id() + "]";
      throw new InvalidSpecException(user.isPresent() ? field + ".secrets." + SECRET : field + ".properties." + USER,
          "CHAP needs both the property " + USER + " and the secret " + SECRET);
    }
    if (user.isPresent() && user.get().isBlank()) {
      throw new InvalidSpecException("resources[" + lun.id() + "].properties." + USER, "must not be blank");
    }
    return user.map(u -> new DomainXml.LunAuth(u, usage(lun.locator())));
  }

  /**
   * The usage id of the secret for a LUN, from its locator with the port spelled out: {@code
   * lencap:host:port/iqn/lun}. Unique per LUN, so two LUNs with different passwords never share a secret.
   */
  static String usage(URI lun) {
    return "lencap:" + lun.getHost() + ":" + IscsiLocator.port(lun) + lun.getPath();
  }

  /**
   * Defines the iSCSI secret for {@code lun}'s CHAP password, or reuses the one already defined with that usage
   * (an earlier restore onto the same LUN), and sets its value. Persistent, as the domain's definition names it
   * for the next cold boot; not private, so that an overlay over the LUN can be merged offline by {@code
   * qemu-img} (see {@link Overlays}). Left defined afterwards: the domain keeps using it.
   */
  static void put(Connect c, String member, String where, Resource lun) {
    Optional<DomainXml.LunAuth> auth = auth(lun);
    if (auth.isEmpty()) {
      return;
    }
    String usage = auth.get().secretUsage();
    String what = where + ": storing the CHAP password of " + lun.redactedLocator() + " in the libvirt secret of "
        + "iSCSI usage '" + usage + "'";
    byte[] value = lun.secret(SECRET).orElseThrow().reveal().getBytes(StandardCharsets.UTF_8);
    try {
      LibvirtErrors.run(member, what, () -> {
        org.libvirt.Secret secret = null;
        for (String uuid : c.listSecrets()) {
          org.libvirt.Secret s = c.secretLookupByUUIDString(uuid);
          if (s.getUsageType() == SecretUsageType.ISCSI && usage.equals(s.getUsageID())) {
            secret = s;
            break;
          }
        }
        if (secret == null) {
          secret = c.secretDefineXML("<secret ephemeral='no' private='no'><description>Lencap: CHAP of "
              + xml(lun.redactedLocator()) + "</description><usage type='iscsi'><target>" + xml(usage)
              + "</target></usage></secret>");
        }
        secret.setValue(value);
      });
    } finally {
      Arrays.fill(value, (byte) 0);
    }
  }

  private static String xml(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
        .replace("\"", "&quot;");
  }
}
