package io.lencap.libvirt;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;

/** A capture context over an in-memory state that records the driver's method, notes and reported pause. */
final class Capture implements CaptureContext {
  private final Resource resource;
  private final CaptureMode mode;
  private final MemoryState sink;
  private final List<String> notes = new CopyOnWriteArrayList<>();
  private volatile String method = "default";
  private volatile java.time.Duration pause;
  private volatile Runnable onCheck = () -> {};

  Capture(Resource resource, CaptureMode mode) {
    this(resource, mode, new MemoryState(new MemoryState.Chunks(), "cp1"));
  }

  Capture(Resource resource, CaptureMode mode, MemoryState sink) {
    this.resource = resource;
    this.mode = mode;
    this.sink = sink;
  }

  /** Runs {@code r} at each of the driver's cancellation checks (between the blocks of a copy): fault injection. */
  Capture onCheck(Runnable r) {
    onCheck = r;
    return this;
  }

  MemoryState sink() {
    return sink;
  }

  List<String> notes() {
    return notes;
  }

  String method() {
    return method;
  }

  /** The pause the driver measured and reported ({@link #pause(java.time.Duration)}), if it did. */
  Optional<java.time.Duration> reportedPause() {
    return Optional.ofNullable(pause);
  }

  @Override
  public String encapsulation() {
    return "unit";
  }

  @Override
  public String checkpointId() {
    return "cp1";
  }

  @Override
  public CaptureMode mode() {
    return mode;
  }

  @Override
  public Resource resource() {
    return resource;
  }

  @Override
  public Optional<StoredState> parent() {
    return Optional.empty();
  }

  @Override
  public StateSink state() {
    return sink;
  }

  @Override
  public void method(String m) {
    method = m;
  }

  @Override
  public void pause(java.time.Duration measured) {
    pause = measured;
  }

  @Override
  public void note(String note) {
    notes.add(note);
  }

  @Override
  public boolean isCancelled() {
    return false;
  }

  @Override
  public void checkCancelled() throws CancellationException {
    onCheck.run();
  }
}
