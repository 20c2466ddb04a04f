package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A server that answers NFS3ERR_JUKEBOX ("busy, try again later") is asked again, within a limit; nothing else is. */
class NfsBusyTest {
  private static NfsSession.NfsError error(int status) {
    return new NfsSession.NfsError(status, "status " + status, null);
  }

  @Test
  void aBusyServerIsAskedAgainUntilItAnswers() throws IOException {
    int[] calls = {0};
    String answer = NfsSession.whileBusy(() -> {
      if (++calls[0] < 3) {
        throw error(NfsSession.JUKEBOX);
      }
      return "ok";
    }, Duration.ofSeconds(30));
    assertEquals("ok", answer);
    assertEquals(3, calls[0]);
  }

  @Test
  void otherErrorsAreNotSentAgain() {
    int[] calls = {0};
    NfsSession.NfsError e = assertThrows(NfsSession.NfsError.class, () -> NfsSession.whileBusy(() -> {
      calls[0]++;
      throw error(NfsSession.NOENT);
    }, Duration.ofSeconds(30)));
    assertEquals(NfsSession.NOENT, e.status);
    assertEquals(1, calls[0]);
  }

  @Test
  void aServerBusyPastTheLimitFailsWithItsLastAnswer() {
    int[] calls = {0};
    NfsSession.NfsError e = assertThrows(NfsSession.NfsError.class, () -> NfsSession.whileBusy(() -> {
      calls[0]++;
      throw error(NfsSession.JUKEBOX);
    }, Duration.ofMillis(200)));
    assertEquals(NfsSession.JUKEBOX, e.status);
    assertTrue(calls[0] >= 2 && calls[0] <= 6, "asked " + calls[0] + " times in 200 ms (pauses 20, 40, 80 ms...)");
  }
}
