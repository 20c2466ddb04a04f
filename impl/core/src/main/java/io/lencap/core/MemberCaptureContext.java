package io.lencap.core;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;

/** A driver's view of the capture of its member; collects what the driver says for the checkpoint. */
final class MemberCaptureContext implements CaptureContext {
  private final String encapsulation;
  private final String checkpointId;
  private final CaptureMode mode;
  private final Resource resource;
  private final StateSink sink;
  private final Optional<StoredState> parentState;
  final List<String> notes = Collections.synchronizedList(new ArrayList<>());
  volatile String method = "default";
  volatile Duration reportedPause;
  volatile boolean cancelled;

  MemberCaptureContext(String encapsulation, String checkpointId, CaptureMode mode, Resource resource,
      StateSink sink, Optional<StoredState> parentState) {
    this.encapsulation = encapsulation;
    this.checkpointId = checkpointId;
    this.mode = mode;
    this.resource = resource;
    this.sink = sink;
    this.parentState = parentState;
  }

  @Override
  public String encapsulation() {
    return encapsulation;
  }

  @Override
  public String checkpointId() {
    return checkpointId;
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
    return parentState;
  }

  @Override
  public StateSink state() {
    return sink;
  }

  @Override
  public void method(String m) {
    this.method = m;
  }

  @Override
  public void pause(Duration measured) {
    reportedPause = measured;
  }

  @Override
  public void note(String note) {
    notes.add(note);
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public void checkCancelled() {
    if (cancelled) {
      throw new CancellationException("capture " + checkpointId + " of " + encapsulation + " aborted");
    }
  }
}
