package io.lencap.libvirt;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.testing.CounterGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The VM demo: boots a counter guest on qemu:///system, captures it non-blocking into a local store,
 * lets it run on, destroys it, restores it from the store and shows the counter going on from the
 * captured value, with the measured pause. Needs scripts/setup/libvirt.sh and scripts/setup/guest.sh.
 * Run: {@code mvn -q -o -pl impl/libvirt test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.lencap.libvirt.VmDemo [-Dexec.args=STORE_DIR]}.
 */
public final class VmDemo {
  private static final Duration WAIT = Duration.ofMinutes(2);

  private VmDemo() {}

  public static void main(String[] args) throws Exception {
    Path store = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("lencap-vm-demo");
    try (CounterGuest g = QemuSystem.guests().boot("lencap-demo")) {
      g.awaitCounter(n -> n >= 3, WAIT);
      say("booted counter guest %s (128 MiB, QEMU TCG); its console shows %s", g.name(), tail(g.counters()));
      Encapsulation job = CounterGuestIT.group("vm-demo", CaptureMode.NON_BLOCKING, g.resource("vm"));
      CutProbe probe = new CutProbe(Map.of("vm", g.disk()));
      try (Lencap lencap = Lencap.builder().store(store).listener(probe).build()) {
        Checkpoint cp = lencap.capture(job).get(5, TimeUnit.MINUTES);
        MemberCheckpoint m = cp.member("vm").orElseThrow();
        int atCut = probe.atCut.get("vm");
        say("captured checkpoint %s into %s: %s, counter %d on disk at the cut", cp.id(), store, m.method(), atCut);
        say("  pause %d ms from quiesce to resume; %s", m.pause().toMillis(),
            m.notes().stream().filter(n -> n.contains("stood still")).findFirst().orElse(""));
        say("  %d bytes of state (memory image + disk), %d stored after dedup and compression",
            m.logicalBytes(), m.storedBytes());
        int reached = g.awaitCounter(n -> n >= atCut + 4, WAIT);
        say("the guest ran on during and after the capture: counter %d", reached);
        QemuSystem.domain(g).destroy();
        say("destroyed %s at counter %d", g.name(), g.lastCounter());

        int mark = g.counters().size();
        long t0 = System.nanoTime();
        lencap.restore(job, cp.id()).get(5, TimeUnit.MINUTES);
        long restoreMs = (System.nanoTime() - t0) / 1_000_000;
        int first = g.awaitCounter(mark, n -> true, WAIT);
        int third = g.awaitCounter(mark, n -> n >= first + 2, WAIT);
        List<Integer> after = g.counters().subList(mark, g.counters().size());
        say("restored from the store in %d ms; the console goes on: %s", restoreMs, after);
        say("the counter continued from the captured value %d (no reboot: %d boot line(s) in the console), now %d",
            atCut, g.boots(), third);
      }
    }
    System.exit(0);
  }

  private static String tail(List<Integer> c) {
    return c.subList(Math.max(0, c.size() - 3), c.size()).toString();
  }

  private static void say(String format, Object... args) {
    System.out.println("[vm-demo] " + String.format(format, args));
  }
}
