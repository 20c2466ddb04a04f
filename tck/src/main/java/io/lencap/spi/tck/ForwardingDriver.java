package io.lencap.spi.tck;

import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import java.util.Optional;
import java.util.Set;

/** A driver that forwards every call to another: override a method to inject a fault in that phase. */
public class ForwardingDriver implements ResourceDriver {
  protected final ResourceDriver delegate;

  public ForwardingDriver(ResourceDriver delegate) {
    this.delegate = delegate;
  }

  @Override
  public Set<Capability> capabilities() {
    return delegate.capabilities();
  }

  @Override
  public void prepare(CaptureContext context) throws Exception {
    delegate.prepare(context);
  }

  @Override
  public void quiesce() throws Exception {
    delegate.quiesce();
  }

  @Override
  public Cut cut(CaptureContext context) throws Exception {
    return delegate.cut(context);
  }

  @Override
  public void resume() throws Exception {
    delegate.resume();
  }

  @Override
  public void transfer(Cut cut, CaptureContext context) throws Exception {
    delegate.transfer(cut, context);
  }

  @Override
  public void release(Cut cut) throws Exception {
    delegate.release(cut);
  }

  @Override
  public void prepareRestore(RestoreContext context) throws Exception {
    delegate.prepareRestore(context);
  }

  @Override
  public void restore(RestoreContext context) throws Exception {
    delegate.restore(context);
  }

  @Override
  public <T> Optional<T> extension(Class<T> type) {
    return delegate.extension(type);
  }

  @Override
  public void close() throws Exception {
    delegate.close();
  }
}
