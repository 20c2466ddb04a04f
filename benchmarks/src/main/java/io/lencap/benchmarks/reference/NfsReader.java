package io.lencap.benchmarks.reference;

import com.emc.ecs.nfsclient.nfs.NfsDirectoryPlusEntry;
import com.emc.ecs.nfsclient.nfs.NfsReaddirplusResponse;
import com.emc.ecs.nfsclient.nfs.NfsType;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3;
import com.emc.ecs.nfsclient.rpc.CredentialUnix;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fastest plain NFSv3 client we can run on these machines (no kernel mount works here, and libnfs's tools
 * copy one file per process): nfs-client's {@link Nfs3}, the library Lencap's NFS provider uses, listing each
 * directory with READDIRPLUS and reading every regular file with READs of up to 1 MiB, {@code threads} calls in
 * flight on one connection, the bytes thrown away. No hashing, no store: the protocol's own limit here.
 */
public final class NfsReader {
  private static final int READ = 1 << 20;
  private final Nfs3 nfs;
  private final int threads;

  /** Mounts {@code export} (a directory the server exports) on {@code host} as root. */
  public NfsReader(String host, String export, int threads) throws IOException {
    this.nfs = new Nfs3(host, export, new CredentialUnix(0, 0, Set.of()), 2);
    this.threads = threads;
  }

  /** Reads every file under {@code below} (a path under the export, "" for its root); returns the bytes read. */
  public long readAll(String below) throws Exception {
    byte[] dir = nfs.getRootFileHandle();
    for (String name : below.split("/")) {
      if (!name.isEmpty()) {
        dir = nfs.wrapped_getLookup(nfs.makeLookupRequest(dir, name)).getFileHandle();
      }
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      AtomicLong bytes = new AtomicLong();
      List<byte[]> level = List.of(dir);
      while (!level.isEmpty()) {
        List<Future<List<NfsDirectoryPlusEntry>>> listings = new ArrayList<>();
        for (byte[] d : level) {
          listings.add(pool.submit(() -> list(d)));
        }
        List<byte[]> next = new ArrayList<>();
        List<Future<?>> reads = new ArrayList<>();
        for (Future<List<NfsDirectoryPlusEntry>> f : listings) {
          for (NfsDirectoryPlusEntry e : f.get()) {
            NfsType type = e.getAttributes().getType();
            if (type == NfsType.NFS_DIR) {
              next.add(e.getFileHandle());
            } else if (type == NfsType.NFS_REG) {
              long size = e.getAttributes().getSize();
              reads.add(pool.submit(() -> bytes.addAndGet(read(e.getFileHandle(), size))));
            }
          }
        }
        for (Future<?> f : reads) {
          f.get();
        }
        level = next;
      }
      return bytes.get();
    } finally {
      pool.shutdownNow();
    }
  }

  private List<NfsDirectoryPlusEntry> list(byte[] dir) throws IOException {
    List<NfsDirectoryPlusEntry> out = new ArrayList<>();
    long cookie = 0;
    long verifier = 0;
    while (true) {
      NfsReaddirplusResponse r = nfs.wrapped_getReaddirplus(nfs.makeReaddirplusRequest(dir, cookie, verifier,
          64 * 1024, 256 * 1024));
      for (NfsDirectoryPlusEntry e : r.getEntries()) {
        cookie = e.getCookie();
        if (!e.getFileName().equals(".") && !e.getFileName().equals("..")) {
          out.add(e);
        }
      }
      verifier = r.getCookieverf();
      if (r.isEof() || r.getEntries().isEmpty()) {
        return out;
      }
    }
  }

  /** One READ, retried while the server asks to wait ({@link Jukebox}). */
  private com.emc.ecs.nfsclient.nfs.NfsReadResponse readOnce(byte[] fh, long off, byte[] buf) throws IOException {
    return Jukebox.retried(() -> nfs.wrapped_getRead(nfs.makeReadRequest(fh, off, buf.length), buf, 0));
  }

  private long read(byte[] fh, long size) throws IOException {
    byte[] buf = new byte[(int) Math.min(READ, Math.max(4096, size))];
    long off = 0;
    while (true) {
      var r = readOnce(fh, off, buf);
      off += r.getBytesRead();
      if (r.isEof() || r.getBytesRead() == 0) {
        return off;
      }
    }
  }
}
