package io.lencap.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.DrillReport;
import io.lencap.api.Failure;
import io.lencap.api.FailureKind;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.ResourceType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LencapMetricsTest {
  @Test
  void recordsPausesBytesAndFailures() {
    Lencap lencap = mock(Lencap.class);
    AtomicReference<LencapListener> listener = new AtomicReference<>();
    doAnswer(inv -> {
      listener.set(inv.getArgument(0));
      return null;
    }).when(lencap).addListener(any());
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    new LencapMetrics(lencap).bindTo(registry);

    Instant t = Instant.parse("2026-11-22T00:00:00Z");
    Checkpoint cp = new Checkpoint("c1", "job", Optional.empty(), CaptureMode.NON_BLOCKING, t, t.plusMillis(20),
        t.plusSeconds(3), List.of(
            new MemberCheckpoint("vm", ResourceType.VIRTUAL_MACHINE, "libvirt", Duration.ofMillis(40), 100, 60, "x", List.of()),
            new MemberCheckpoint("lun", ResourceType.BLOCK_VOLUME, "iscsi", Duration.ofMillis(15), 900, 10, "y", List.of())));
    listener.get().onEvent(new LencapEvent.Committed("job", "c1", cp, t));
    listener.get().onEvent(new LencapEvent.FailureDetected("job", "c1",
        new Failure("job", "vm", FailureKind.CRASHED, "qemu died", t), t));

    assertEquals(40, registry.get("lencap.capture.pause").timer().totalTime(TimeUnit.MILLISECONDS), 0.001);
    assertEquals(3000, registry.get("lencap.capture.duration").timer().totalTime(TimeUnit.MILLISECONDS), 0.001);
    assertEquals(70, registry.get("lencap.capture.bytes.stored").summary().totalAmount(), 0.001);
    assertEquals(15, registry.get("lencap.capture.member.pause").tag("member", "lun").timer()
        .totalTime(TimeUnit.MILLISECONDS), 0.001);
    assertEquals(1, registry.get("lencap.failures").tag("kind", "CRASHED").counter().count(), 0.001);

    DrillReport.Member ok = new DrillReport.Member("vm", true, Duration.ofSeconds(2), Duration.ofMillis(30), "healthy");
    DrillReport passed = new DrillReport("job", "c1", t, Duration.ofSeconds(5), Duration.ofSeconds(4),
        Optional.empty(), List.of(ok), Optional.empty(), false, List.of());
    DrillReport failed = new DrillReport("job", "c1", t, Duration.ofSeconds(7), Duration.ofSeconds(4),
        Optional.empty(), List.of(ok), Optional.empty(), false, List.of("vm: still defined"));
    listener.get().onEvent(new LencapEvent.Drilled("job", "c1", passed, t));
    listener.get().onEvent(new LencapEvent.Drilled("job", "c1", passed, t));
    listener.get().onEvent(new LencapEvent.Drilled("job", "c1", failed, t));
    assertEquals(2, registry.get("lencap.drills").tag("outcome", "passed").counter().count(), 0.001);
    assertEquals(1, registry.get("lencap.drills").tag("outcome", "failed").counter().count(), 0.001);
    assertEquals(10, registry.get("lencap.drill.duration").tag("outcome", "passed").timer()
        .totalTime(TimeUnit.SECONDS), 0.001);
    assertEquals(7, registry.get("lencap.drill.duration").tag("outcome", "failed").timer()
        .totalTime(TimeUnit.SECONDS), 0.001);
  }
}
