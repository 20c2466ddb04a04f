package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.iscsi.IscsiException.Reason;
import org.jscsi.parser.login.LoginStatus;
import org.junit.jupiter.api.Test;

/** A refused login in the user's terms: each status class maps to a reason, and the message names the target. */
class LoginRefusalTest {

  static final LunAddress ADDRESS = new LunAddress("san.example", 3261, "iqn.2024-01.example:disk", 1);

  @Test
  void statusesMapToReasonsNamingTheTarget() {
    LoginRefusal open = new LoginRefusal(ADDRESS, false);
    assertEquals(Reason.NOT_FOUND, open.of(LoginStatus.NOT_FOUND).reason());
    assertEquals(Reason.NOT_FOUND, open.of(LoginStatus.TARGET_REMOVED).reason());
    assertEquals(Reason.UNAVAILABLE, open.of(LoginStatus.SERVICE_UNAVAILABLE).reason());
    assertEquals(Reason.UNAVAILABLE, open.of(LoginStatus.OUT_OF_RESOURCES).reason());
    assertEquals(Reason.PROTOCOL, open.of(LoginStatus.UNSUPPORTED_VERSION).reason());
    for (LoginStatus status : LoginStatus.values()) {
      if (status != LoginStatus.SUCCESS) {
        String message = open.of(status).getMessage();
        assertTrue(message.contains("iqn.2024-01.example:disk at san.example:3261"), message);
      }
    }
  }

  @Test
  void anAuthenticationFailureSaysWhetherCredentialsWereWrongOrMissing() {
    IscsiException wrong = new LoginRefusal(ADDRESS, true).of(LoginStatus.AUTHENTICATION_FAILURE);
    IscsiException missing = new LoginRefusal(ADDRESS, false).of(LoginStatus.AUTHORIZATION_FAILURE);
    assertEquals(Reason.AUTHENTICATION, wrong.reason());
    assertEquals(Reason.AUTHENTICATION, missing.reason());
    assertTrue(wrong.getMessage().contains("refused the CHAP credentials"), wrong.getMessage());
    assertTrue(missing.getMessage().contains("requires CHAP credentials"), missing.getMessage());
  }

  @Test
  void aStatusJscsiDoesNotKnowIsAProtocolError() {
    IscsiException e = new LoginRefusal(ADDRESS, false).of(null);
    assertEquals(Reason.PROTOCOL, e.reason());
    assertTrue(e.getMessage().contains("unknown status"), e.getMessage());
  }
}
