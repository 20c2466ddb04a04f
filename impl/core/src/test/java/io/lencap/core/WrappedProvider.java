package io.lencap.core;

import io.lencap.api.Resource;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ForwardingProvider;
import java.util.function.UnaryOperator;

/** A provider whose drivers are another provider's, each wrapped: a hook at one step of one call. */
final class WrappedProvider extends ForwardingProvider {
  private final UnaryOperator<ResourceDriver> wrap;

  WrappedProvider(ResourceProvider inner, UnaryOperator<ResourceDriver> wrap) {
    super(inner);
    this.wrap = wrap;
  }

  @Override
  public String name() {
    return "wrapped-" + delegate.name();
  }

  @Override
  public ResourceDriver open(Resource r, ProviderContext context) {
    return wrap.apply(delegate.open(r, context));
  }
}
