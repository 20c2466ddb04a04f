package io.lencap.samples.tree;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredState;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Minimal engine contexts for driving a driver phase by phase in tests. */
final class Contexts {
  private Contexts() {}

  static ProviderContext provider(Path work) {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return work;
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }

  /** A capture context that keeps the method and notes the driver reports. */
  static final class Capture implements CaptureContext {
    final Resource resource;
    final StateSink sink;
    final Optional<StoredState> parent;
    final List<String> notes = new CopyOnWriteArrayList<>();
    volatile String method;

    Capture(Resource resource, StateSink sink, Optional<StoredState> parent) {
      this.resource = resource;
      this.sink = sink;
      this.parent = parent;
    }

    @Override
    public String encapsulation() {
      return "test";
    }

    @Override
    public String checkpointId() {
      return "cp";
    }

    @Override
    public CaptureMode mode() {
      return CaptureMode.NON_BLOCKING;
    }

    @Override
    public Resource resource() {
      return resource;
    }

    @Override
    public Optional<StoredState> parent() {
      return parent;
    }

    @Override
    public StateSink state() {
      return sink;
    }

    @Override
    public void method(String method) {
      this.method = method;
    }

    @Override
    public void pause(java.time.Duration measured) {}

    @Override
    public void note(String note) {
      notes.add(note);
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void checkCancelled() {}
  }

  record Restore(Resource captured, Resource target, StoredState state) implements RestoreContext {
    @Override
    public String encapsulation() {
      return "test";
    }

    @Override
    public String checkpointId() {
      return state.checkpointId();
    }

    @Override
    public void progress(long bytesDone, long totalBytes) {}

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void checkCancelled() {}
  }
}
