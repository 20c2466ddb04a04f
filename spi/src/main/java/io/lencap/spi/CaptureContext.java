package io.lencap.spi;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import java.util.Optional;

/** What a driver sees of the capture it takes part in. Thread-safe. */
public interface CaptureContext {
  String encapsulation();

  String checkpointId();

  CaptureMode mode();

  Resource resource();

  /** This member's state in the checkpoint this one is incremental to, for reuse of unchanged data. */
  Optional<StoredState> parent();

  /** Where the member's state goes. */
  StateSink state();

  /** How the cut was taken (shown in the checkpoint), e.g. {@code live-external-snapshot}. */
  void method(String method);

  /**
   * The member's real pause, when the driver measured it itself: a live snapshot stops the guest for
   * only part of the cut call. The checkpoint then shows this instead of the engine's quiesce-to-resume.
   */
  void pause(java.time.Duration measured);

  /** Tells users something about this capture: a fallback taken, a limit met. */
  void note(String note);

  /** True once the capture was cancelled or aborted; long loops should check it. */
  boolean isCancelled();

  /** Throws {@link java.util.concurrent.CancellationException} when {@link #isCancelled()}. */
  void checkCancelled();
}
