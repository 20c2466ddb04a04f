package io.lencap.benchmarks;

import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Members that do nothing ({@code noop://name}), so that a benchmark measures the engine's own
 * coordination: threads, futures, events, journal and manifest.
 */
public final class NoOpProvider implements ResourceProvider {
  @Override
  public String name() {
    return "noop";
  }

  @Override
  public Support supports(Resource resource) {
    return "noop".equals(resource.locator().getScheme()) ? Support.yes() : Support.no("scheme is not noop");
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    return new ResourceDriver() {
      @Override
      public Set<Capability> capabilities() {
        return EnumSet.of(Capability.LIVE_CUT, Capability.RESTORE_ELSEWHERE);
      }

      @Override
      public void prepare(CaptureContext c) {}

      @Override
      public void quiesce() {}

      @Override
      public Cut cut(CaptureContext c) {
        c.method("noop");
        return Cut.live(Map.of());
      }

      @Override
      public void resume() {}

      @Override
      public void transfer(Cut cut, CaptureContext c) {
        c.state().attribute("name", resource.locator().getHost());
      }

      @Override
      public void release(Cut cut) {}

      @Override
      public void prepareRestore(RestoreContext c) {}

      @Override
      public void restore(RestoreContext c) {}
    };
  }

  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    return Health::healthy;
  }
}
