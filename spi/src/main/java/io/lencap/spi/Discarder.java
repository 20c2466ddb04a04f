package io.lencap.spi;

/**
 * Removes a resource that a restore created away from its group: a restore drill's sandbox member, once it has been
 * checked. Returned by {@link ResourceProvider#discarder}, which only ever names a restore's target, never a member
 * of a group; a check that keeps nothing open is a lambda.
 *
 * <p>What removal means is the provider's: libvirt destroys and undefines the domain and deletes the files the
 * restore wrote into its {@code restore.directory}; a tree provider deletes the directory; an iSCSI LUN, which
 * cannot be deleted over iSCSI, is zeroed.
 */
@FunctionalInterface
public interface Discarder {
  /**
   * Removes the restored resource. Blocks; the engine calls it on its own threads. Idempotent: removing what is
   * already gone succeeds. Throws the API's exceptions ({@link io.lencap.api.UnavailableException} when the
   * component cannot be reached, {@link io.lencap.api.InvalidSpecException} naming the field when the resource
   * cannot be a restore's own).
   */
  void discard() throws Exception;
}
