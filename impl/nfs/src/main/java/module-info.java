/**
 * Lencap's NAS provider: NFS exports ({@code nfs://host/export/path}) captured as deduplicated file trees
 * through nfs-client's NFSv3. Found through ServiceLoader; exports only the optional snapshot hook that NAS
 * vendors implement ({@link io.lencap.nfs.snapshot.NasSnapshots}).
 */
module io.lencap.nfs {
  requires io.lencap.spi;
  requires org.slf4j;
  requires nfs.client; // com.emc.ecs:nfs-client, automatic module
  requires netty; // io.netty:netty 3, nfs-client's transport (automatic module)

  exports io.lencap.nfs.snapshot;

  uses io.lencap.nfs.snapshot.NasSnapshots;

  provides io.lencap.spi.ResourceProvider with io.lencap.nfs.NfsProvider;
}
