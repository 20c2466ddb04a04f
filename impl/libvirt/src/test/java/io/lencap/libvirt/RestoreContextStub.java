package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredState;

/** A restore context over a stored state. */
record RestoreContextStub(Resource captured, Resource target, StoredState state) implements RestoreContext {
  @Override
  public String encapsulation() {
    return "unit";
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
