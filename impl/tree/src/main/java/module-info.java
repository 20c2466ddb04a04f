/**
 * Lencap's tree engine: capture in passes, one manifest check and one differential restore of a file tree,
 * over {@link io.lencap.tree.TreeFiles}, a small interface of file operations. Shared only with the tree
 * providers, which adapt it to NFS and to a local directory; not an API.
 */
module io.lencap.tree {
  requires transitive io.lencap.spi;

  exports io.lencap.tree to io.lencap.nfs, io.lencap.localdir;
}
