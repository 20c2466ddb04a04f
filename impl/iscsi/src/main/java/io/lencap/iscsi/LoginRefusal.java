package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import io.lencap.iscsi.address.IscsiLocator;
import org.jscsi.parser.login.LoginStatus;

/**
 * What a login refused by the target means for the user: a missing target, credentials refused or missing, a
 * target too busy now, or a protocol error. Used wherever a failed login answer arrives.
 *
 * @param address the target logged in to
 * @param withChap whether we offered CHAP credentials (then a refusal means they are wrong, else that it wants some)
 */
record LoginRefusal(LunAddress address, boolean withChap) {

  /**
   * The error for a refused login's {@code status}: NOT_FOUND, AUTHENTICATION, UNAVAILABLE, or PROTOCOL (also
   * for {@code null}, a status class and detail jSCSI does not know).
   */
  IscsiException of(LoginStatus status) {
    String target = "iSCSI target " + address.iqn() + " at " + address.host() + ":" + address.port();
    if (status == null) {
      return new IscsiException(Reason.PROTOCOL, target + " refused the login with an unknown status");
    }
    return switch (status) {
      case NOT_FOUND, TARGET_REMOVED -> new IscsiException(Reason.NOT_FOUND, target + " not found");
      case AUTHENTICATION_FAILURE, AUTHORIZATION_FAILURE -> new IscsiException(Reason.AUTHENTICATION,
        withChap ? target + " refused the CHAP credentials"
          : target + " requires CHAP credentials (property " + IscsiLocator.CHAP_USER
            + " and secret " + IscsiLocator.CHAP_SECRET + ")");
      case TARGET_ERROR, SERVICE_UNAVAILABLE, OUT_OF_RESOURCES -> new IscsiException(Reason.UNAVAILABLE,
        target + " cannot serve a session now (" + status + ")");
      default -> new IscsiException(Reason.PROTOCOL, target + " refused the login (" + status + ")");
    };
  }
}
