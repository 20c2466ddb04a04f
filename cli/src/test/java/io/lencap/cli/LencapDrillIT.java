package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lencap.testing.Components;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lencap drill} of a counter guest and a tree through the launcher: the sandbox (a new domain, a new
 * directory) is restored, found running, checked by a user command and removed, while the original guest counts
 * on untouched (two tiny guests at once for the length of the drill) and the original tree stays as it was.
 */
class LencapDrillIT {
  static final String VM = "lencap-cli-drill-vm";
  static final String SANDBOX = "lencap-cli-drill-sandbox";

  @TempDir
  Path dir;

  @Test
  void drillsAGuestAndATreeInASandboxAndRemovesIt() throws Exception {
    CounterGuests guests = CounterGuests.inProject();
    Components.require(guests.unavailable());
    Path data = Files.createDirectories(dir.resolve("job-data"));
    Files.writeString(data.resolve("progress.txt"), "step 7\n");
    Path spec = Files.writeString(dir.resolve("job.yaml"), """
        name: lencap-cli-drill-job
        members:
          - {id: vm, type: vm, locator: "%s", properties: {domain: %s}}
          - {id: data, type: tree, locator: "%s"}
        policy: {pauseBudget: 10s}
        """.formatted(guests.uri(), VM, data.toUri()));
    Launcher lencap = new Launcher(Map.of("LENCAP_STORE", dir.resolve("store").toString()));
    Path sandbox = guests.directory(SANDBOX); // where QEMU can read the sandbox's disks
    CounterGuest guest = guests.start(VM);
    try {
      guest.awaitCounterAbove(2, Duration.ofMinutes(3));
      Launcher.Result captured = lencap.run("capture", spec.toString());
      assertEquals(0, captured.status(), captured.toString());
      int beforeDrill = guest.awaitNewCounter(guest.lastCounter(), Duration.ofMinutes(1));
      int printedBefore = guest.counters().size();

      Launcher.Result drill = lencap.run("drill", spec.toString(), "--sandbox", sandbox.toString(), "--check",
          "test \"$(cat ${LENCAP_DRILL_DATA_LOCATOR#file://}/progress.txt)\" = 'step 7' && "
              + "virsh -c " + guests.uri() + " domstate $LENCAP_DRILL_VM_DOMAIN", "--json");
      assertEquals(0, drill.status(), drill.toString());
      JsonNode report = new ObjectMapper().readTree(drill.out());
      assertTrue(report.get("passed").asBoolean(), drill.toString());
      assertEquals(2, report.get("members").size());
      report.get("members").forEach(m -> assertTrue(m.get("passed").asBoolean() && m.get("restoreMillis").asLong() > 0,
          m.toString()));
      assertTrue(report.get("check").get("output").asText().contains("running"), drill.toString());
      assertTrue(report.get("removed").asBoolean(), drill.toString());
      System.out.println("drill: " + drill.out());

      assertFalse(Files.exists(sandbox), "the sandbox's files are gone");
      String domains = new String(new ProcessBuilder("virsh", "-c", guests.uri(), "list", "--all", "--name").start()
          .getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertFalse(domains.contains(VM + "-drill-"), "a sandbox domain is left: " + domains);
      assertTrue(domains.contains(VM), "the original domain is still defined: " + domains);
      // The original ran all along: it counts on from where it was, with no step back and no new boot.
      int after = guest.awaitCounterAbove(beforeDrill + 1, Duration.ofMinutes(1));
      List<Integer> during = guest.counters().subList(printedBefore - 1, guest.counters().size());
      for (int i = 1; i < during.size(); i++) {
        assertEquals(during.get(i - 1) + 1, during.get(i), "the original guest's counter skipped or stepped back: "
            + during);
      }
      assertTrue(after > beforeDrill, "the original guest stopped counting during the drill");
      assertEquals(1, guest.boots(), "the original guest was restarted");
      assertEquals("step 7\n", Files.readString(data.resolve("progress.txt")));
    } finally {
      guests.remove(VM);
      if (Files.exists(sandbox)) { // only when the drill failed to remove it: the assertions above say so
        try (var paths = Files.walk(sandbox)) {
          for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
  }
}
