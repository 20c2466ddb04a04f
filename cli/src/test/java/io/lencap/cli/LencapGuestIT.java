package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lencap.testing.Components;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A counter guest and its job's tree captured and restored from a YAML spec through the launcher: the guest
 * counts on from the recovery line after it was destroyed, and the tree is back.
 */
class LencapGuestIT {
  static final String VM = "lencap-cli-vm";

  @TempDir
  Path dir;

  @Test
  void capturesAndRestoresACounterGuestAndATree() throws Exception {
    CounterGuests guests = CounterGuests.inProject();
    Components.require(guests.unavailable());
    Path data = Files.createDirectories(dir.resolve("job-data"));
    Files.writeString(data.resolve("progress.txt"), "captured\n");
    Path spec = Files.writeString(dir.resolve("job.yaml"), """
        name: lencap-cli-guest-job
        members:
          - id: %s
            type: vm
            locator: %s
            properties: {domain: %s}
          - id: data
            type: tree
            locator: %s
        policy:
          pauseBudget: 10s
        """.formatted(VM, guests.uri(), VM, data.toUri()));
    Launcher lencap = new Launcher(Map.of("LENCAP_STORE", dir.resolve("store").toString()));
    ObjectMapper json = new ObjectMapper();
    CounterGuest guest = guests.start(VM);
    try {
      guest.awaitCounterAbove(2, Duration.ofMinutes(3));
      int before = guest.lastCounter();
      Launcher.Result captured = lencap.run("capture", spec.toString(), "--json");
      assertEquals(0, captured.status(), captured.toString());
      int after = guest.lastCounter();
      JsonNode cp = json.readTree(captured.out());
      assertEquals(VM, cp.get("members").get(0).get("id").asText());
      assertEquals("vm", cp.get("members").get(0).get("type").asText());
      assertEquals("data", cp.get("members").get(1).get("id").asText());

      guest.awaitCounterAbove(after + 2, Duration.ofMinutes(1));
      guest.destroy();
      Files.writeString(data.resolve("progress.txt"), "lost\n");
      int printed = guest.counters().size();
      Launcher.Result restored = lencap.run("restore", spec.toString(), cp.get("id").asText());
      assertEquals(0, restored.status(), restored.toString());
      int first = guest.awaitNewCounter(printed, Duration.ofMinutes(1));
      assertTrue(first >= before && first <= after + 1, "the guest came back at " + first
          + ", captured while it showed " + before + ".." + after);
      assertEquals("captured\n", Files.readString(data.resolve("progress.txt")));
    } finally {
      guests.remove(VM);
    }
  }
}
