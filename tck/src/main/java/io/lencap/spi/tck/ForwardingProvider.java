package io.lencap.spi.tck;

import io.lencap.api.Resource;
import io.lencap.spi.Discarder;
import io.lencap.spi.MemberRole;
import io.lencap.spi.PropertySpec;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.util.List;
import java.util.Optional;

/**
 * A provider that forwards every call to another: override a method to change one answer, or wrap the
 * drivers {@link #open} returns in a {@link ForwardingDriver} to inject a fault in one phase.
 */
public class ForwardingProvider implements ResourceProvider {
  protected final ResourceProvider delegate;

  public ForwardingProvider(ResourceProvider delegate) {
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public Support supports(Resource resource) {
    return delegate.supports(resource);
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    return delegate.open(resource, context);
  }

  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    return delegate.watch(resource, context);
  }

  @Override
  public Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    return delegate.discarder(restored, context);
  }

  @Override
  public List<PropertySpec> properties() {
    return delegate.properties();
  }

  @Override
  public MemberRole role(Resource resource) {
    return delegate.role(resource);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
