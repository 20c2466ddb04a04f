package io.lencap.micrometer;

import io.lencap.api.Checkpoint;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.MemberCheckpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;

/**
 * Publishes Lencap's figures to a Micrometer registry: {@code lencap.capture.pause} (group pause),
 * {@code lencap.capture.member.pause}, {@code lencap.capture.duration}, {@code lencap.capture.bytes.stored}
 * and {@code .logical}, {@code lencap.failures} and {@code lencap.recoveries}, {@code lencap.drills} (restore
 * drills, tagged {@code outcome} passed or failed) and {@code lencap.drill.duration}, tagged with the
 * encapsulation (and member). {@code new LencapMetrics(lencap).bindTo(registry)}.
 */
public final class LencapMetrics implements MeterBinder {
  private final Lencap lencap;

  public LencapMetrics(Lencap lencap) {
    this.lencap = lencap;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    lencap.addListener(new Recorder(registry));
  }

  private record Recorder(MeterRegistry registry) implements LencapListener {
    @Override
    public void onEvent(LencapEvent event) {
      if (event instanceof LencapEvent.Committed c) {
        committed(c.checkpoint());
      } else if (event instanceof LencapEvent.FailureDetected f) {
        Counter.builder("lencap.failures").tag("encapsulation", f.encapsulation())
            .tag("member", f.failure().memberId()).tag("kind", f.failure().kind().name()).register(registry)
            .increment();
      } else if (event instanceof LencapEvent.Recovered r) {
        Counter.builder("lencap.recoveries").tag("encapsulation", r.encapsulation()).register(registry).increment();
      } else if (event instanceof LencapEvent.Drilled d) {
        String outcome = d.report().passed() ? "passed" : "failed";
        Counter.builder("lencap.drills").description("restore drills into a sandbox, by outcome")
            .tag("encapsulation", d.encapsulation()).tag("outcome", outcome).register(registry).increment();
        Timer.builder("lencap.drill.duration").description("a drill: restore, probes, check and removal")
            .tag("encapsulation", d.encapsulation()).tag("outcome", outcome).register(registry)
            .record(d.report().took());
      }
    }

    private void committed(Checkpoint cp) {
      String group = cp.encapsulation();
      Timer.builder("lencap.capture.pause").description("longest member pause of a capture")
          .tag("encapsulation", group).tag("mode", cp.mode().name()).register(registry).record(cp.pause());
      Timer.builder("lencap.capture.duration").description("from capture start to commit")
          .tag("encapsulation", group).register(registry).record(Duration.between(cp.startedAt(), cp.committedAt()));
      DistributionSummary.builder("lencap.capture.bytes.stored").baseUnit("bytes").tag("encapsulation", group)
          .register(registry).record(cp.storedBytes());
      DistributionSummary.builder("lencap.capture.bytes.logical").baseUnit("bytes").tag("encapsulation", group)
          .register(registry).record(cp.logicalBytes());
      for (MemberCheckpoint m : cp.members()) {
        Timer.builder("lencap.capture.member.pause").tag("encapsulation", group).tag("member", m.id())
            .register(registry).record(m.pause());
      }
    }
  }
}
