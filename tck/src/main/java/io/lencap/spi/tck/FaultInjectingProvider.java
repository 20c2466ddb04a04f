package io.lencap.spi.tck;

import io.lencap.api.Phase;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * Wraps a provider and injects one fault, once, into one phase of one member: an exception, or a hang
 * that lasts until the engine interrupts the call (what a timeout or a cancellation must do).
 */
public final class FaultInjectingProvider extends ForwardingProvider {
  /** What goes wrong. */
  public enum Fault {
    FAIL, HANG
  }

  private final Map<String, Fault> armed = new ConcurrentHashMap<>();
  private final CountDownLatch never = new CountDownLatch(1);
  private volatile CountDownLatch reached = new CountDownLatch(1);

  public FaultInjectingProvider(ResourceProvider delegate) {
    super(delegate);
  }

  /** Arms a fault for the next call of {@code phase} on {@code memberId}. */
  public void inject(String memberId, Phase phase, Fault fault) {
    reached = new CountDownLatch(1);
    armed.put(memberId + "/" + phase, fault);
  }

  /** Waits until the armed fault has fired (for tests that act in the middle of a phase). */
  public void awaitFault() throws InterruptedException {
    reached.await();
  }

  public void disarm() {
    armed.clear();
  }

  @Override
  public String name() {
    return "faulty-" + delegate.name();
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    String id = resource.id();
    return new ForwardingDriver(super.open(resource, context)) {
      @Override
      public void prepare(CaptureContext c) throws Exception {
        fire(id, Phase.PREPARE);
        super.prepare(c);
      }

      @Override
      public void quiesce() throws Exception {
        fire(id, Phase.QUIESCE);
        super.quiesce();
      }

      @Override
      public Cut cut(CaptureContext c) throws Exception {
        fire(id, Phase.CUT);
        return super.cut(c);
      }

      @Override
      public void resume() throws Exception {
        fire(id, Phase.RESUME);
        super.resume();
      }

      @Override
      public void transfer(Cut cut, CaptureContext c) throws Exception {
        fire(id, Phase.TRANSFER);
        super.transfer(cut, c);
      }

      @Override
      public void release(Cut cut) throws Exception {
        fire(id, Phase.RELEASE);
        super.release(cut);
      }

      @Override
      public void restore(RestoreContext c) throws Exception {
        fire(id, Phase.RESTORE);
        super.restore(c);
      }
    };
  }

  private void fire(String memberId, Phase phase) throws Exception {
    Fault f = armed.remove(memberId + "/" + phase);
    if (f == null) {
      return;
    }
    reached.countDown();
    if (f == Fault.FAIL) {
      throw new IOException("injected failure of " + memberId + " in " + phase);
    }
    never.await(); // until interrupted
  }

}
