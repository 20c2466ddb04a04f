package io.lencap.benchmarks.reference;

import com.emc.ecs.nfsclient.nfs.NfsCreateMode;
import com.emc.ecs.nfsclient.nfs.NfsSetAttributes;
import com.emc.ecs.nfsclient.nfs.NfsTime;
import com.emc.ecs.nfsclient.nfs.NfsWriteRequest;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3;
import com.emc.ecs.nfsclient.rpc.CredentialUnix;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * The restore's counterpart of {@link NfsReader}: the same NFSv3 library writes a local tree of small files into an
 * empty directory of the export with the calls a file needs to come back whole and durable — MKDIR for each
 * directory, then for each file CREATE (mode set), one WRITE the server makes stable (FILE_SYNC) and SETATTR of its
 * times — {@code threads} calls in flight on one connection, each retried while the server asks to wait
 * ({@link Jukebox}). No store, no hashing, no decompression: what the protocol and the server cost for those files
 * here.
 */
public final class NfsWriter {
  private final Nfs3 nfs;
  private final int threads;

  /** Mounts {@code export} (a directory the server exports) on {@code host} as root. */
  public NfsWriter(String host, String export, int threads) throws IOException {
    this.nfs = new Nfs3(host, export, new CredentialUnix(0, 0, Set.of()), 2);
    this.threads = threads;
  }

  /**
   * Writes the files in the directories under {@code source} (one level, as {@link Workload#makeTree} makes them)
   * into {@code into}, an existing empty directory of the export's root; returns the bytes written.
   */
  public long writeAll(Path source, String into) throws Exception {
    byte[] root = nfs.wrapped_getLookup(nfs.makeLookupRequest(nfs.getRootFileHandle(), into)).getFileHandle();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Path> dirs;
      try (Stream<Path> s = Files.list(source)) {
        dirs = s.filter(Files::isDirectory).sorted().toList();
      }
      List<Future<byte[]>> made = new ArrayList<>();
      for (Path d : dirs) {
        made.add(pool.submit(() -> Jukebox.retried(() -> nfs.wrapped_sendMkdir(nfs.makeMkdirRequest(root,
            d.getFileName().toString(), attributes(Files.readAttributes(d, PosixFileAttributes.class), false)))
            .getFileHandle())));
      }
      List<Future<Integer>> writes = new ArrayList<>();
      for (int i = 0; i < dirs.size(); i++) {
        byte[] dir = made.get(i).get();
        try (Stream<Path> s = Files.list(dirs.get(i))) {
          for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
            writes.add(pool.submit(() -> write(dir, f)));
          }
        }
      }
      long bytes = 0;
      for (Future<Integer> w : writes) {
        bytes += w.get();
      }
      return bytes;
    } finally {
      pool.shutdownNow();
    }
  }

  private int write(byte[] dir, Path file) throws IOException {
    PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class);
    byte[] data = Files.readAllBytes(file);
    byte[] fh = Jukebox.retried(() -> nfs.wrapped_sendCreate(nfs.makeCreateRequest(NfsCreateMode.GUARDED, dir,
        file.getFileName().toString(), attributes(a, false), null)).getFileHandle());
    if (data.length > 0) {
      Jukebox.retried(() -> nfs.wrapped_sendWrite(nfs.makeWriteRequest(fh, 0,
          new ArrayList<>(List.of(ByteBuffer.wrap(data))), NfsWriteRequest.FILE_SYNC))); // a list nfs-client may extend
    }
    Jukebox.retried(() -> nfs.wrapped_setAttr(nfs.makeSetAttrRequest(fh, attributes(a, true), null)));
    return data.length;
  }

  /** The mode (at creation) or the access and modification times (after the write) of {@code a}. */
  private static NfsSetAttributes attributes(PosixFileAttributes a, boolean times) {
    NfsSetAttributes s = new NfsSetAttributes();
    if (times) {
      s.setAtime(new NfsTime(a.lastAccessTime().toMillis()));
      s.setMtime(new NfsTime(a.lastModifiedTime().toMillis()));
    } else {
      long mode = 0;
      for (PosixFilePermission p : a.permissions()) {
        mode |= 1L << (8 - p.ordinal());
      }
      s.setMode(mode);
    }
    return s;
  }
}
