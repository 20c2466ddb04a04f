package io.lencap.core;

import io.lencap.api.Resource;
import io.lencap.spi.MemberRole;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import java.util.function.UnaryOperator;

/** A provider whose drivers are another provider's, each wrapped: a hook at one step of one call. */
final class WrappedProvider implements ResourceProvider {
  private final ResourceProvider inner;
  private final UnaryOperator<ResourceDriver> wrap;

  WrappedProvider(ResourceProvider inner, UnaryOperator<ResourceDriver> wrap) {
    this.inner = inner;
    this.wrap = wrap;
  }

  @Override
  public String name() {
    return "wrapped-" + inner.name();
  }

  @Override
  public Support supports(Resource r) {
    return inner.supports(r);
  }

  @Override
  public MemberRole role(Resource r) {
    return inner.role(r);
  }

  @Override
  public ResourceDriver open(Resource r, ProviderContext context) {
    return wrap.apply(inner.open(r, context));
  }
}
