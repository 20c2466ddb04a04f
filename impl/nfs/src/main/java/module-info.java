/**
 * Lencap's NAS provider: NFS exports ({@code nfs://host/export/path}) captured as deduplicated file trees
 * through nfs-client's NFSv3 and the tree engine ({@code io.lencap.tree}). Found through ServiceLoader; exports nothing. A filer that can snapshot plugs in
 * through {@link io.lencap.spi.StorageSnapshot}.
 */
module io.lencap.nfs {
  requires io.lencap.spi;
  requires io.lencap.tree;
  requires org.slf4j;
  requires nfs.client; // com.emc.ecs:nfs-client, automatic module
  requires netty; // io.netty:netty 3, nfs-client's transport (automatic module)

  provides io.lencap.spi.ResourceProvider with io.lencap.nfs.NfsProvider;
}
