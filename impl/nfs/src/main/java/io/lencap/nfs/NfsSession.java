package io.lencap.nfs;

import com.emc.ecs.nfsclient.mount.MountException;
import com.emc.ecs.nfsclient.nfs.NfsCreateMode;
import com.emc.ecs.nfsclient.nfs.NfsDirectoryPlusEntry;
import com.emc.ecs.nfsclient.nfs.NfsException;
import com.emc.ecs.nfsclient.nfs.NfsSetAttributes;
import com.emc.ecs.nfsclient.nfs.NfsTime;
import com.emc.ecs.nfsclient.nfs.NfsWriteRequest;
import com.emc.ecs.nfsclient.nfs.NfsWriteResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3ReadResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3ReaddirplusResponse;
import com.emc.ecs.nfsclient.rpc.CredentialUnix;
import com.emc.ecs.nfsclient.rpc.RpcException;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.UnavailableException;
import io.lencap.tree.FileAttrs;
import io.lencap.tree.StoredNames;
import io.lencap.tree.TreeFileException;
import io.lencap.tree.TreeFiles;
import io.lencap.tree.TreeNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One mounted tree over NFSv3 (nfs-client's {@link Nfs3}), addressed by file handles: LOOKUP never follows
 * symlinks, so nothing done through a session can leave the export. Names and symlink targets go on the wire
 * as their exact bytes; paths in messages are in stored form ({@link StoredNames}). The tree engine's
 * {@link TreeFiles} over NFS. Thread-safe (nfs-client multiplexes
 * calls over one connection per server). Network failures become {@link UnavailableException}.
 */
final class NfsSession implements TreeFiles<byte[]> {
  /**
   * Largest WRITE we send. nfs-client sends a request above 1 MiB as two record fragments in two channel
   * writes, and concurrent requests then interleave and corrupt the shared stream: stay well below.
   */
  static final int WRITE_SIZE = 512 * 1024;
  static final int READ_SIZE = 1024 * 1024;
  private static final int READDIR_MAX = 256 * 1024;
  private static final int RETRIES = 2;

  private final Nfs3 nfs;
  private final ExactNameCalls names;
  private final byte[] root;
  private final String where;

  private NfsSession(Nfs3 nfs, byte[] root, String where) {
    this.nfs = nfs;
    this.names = new ExactNameCalls(nfs);
    this.root = root;
    this.where = where;
  }

  /** Mounts the locator's export and looks up the tree's root directory below it. */
  static NfsSession open(NfsLocator loc) {
    NettyThreads.useDaemonThreads();
    CredentialUnix cred = new CredentialUnix(loc.uid(), loc.gid(), Set.of());
    List<String> refused = new ArrayList<>();
    for (String export : loc.exportCandidates()) {
      Nfs3 nfs;
      try {
        nfs = new Nfs3(loc.host(), export, cred, RETRIES);
      } catch (MountException e) {
        refused.add(export + " (" + e.getMessage() + ")");
        continue;
      } catch (IOException e) {
        throw new UnavailableException(loc.describe() + ": cannot mount " + export + " on " + loc.host()
            + " (is rpcbind and the NFS server running?): " + e.getMessage(), e);
      }
      NfsSession s = new NfsSession(nfs, nfs.getRootFileHandle(), loc.describe());
      byte[] dir = s.root;
      String walked = export;
      for (String name : loc.below(export)) {
        walked = walked.endsWith("/") ? walked + name : walked + "/" + name;
        Optional<TreeNode<byte[]>> n;
        try {
          n = s.lookup(dir, StoredNames.bytesOf(name), walked);
        } catch (IOException e) {
          throw new UnavailableException(loc.describe() + ": cannot look up " + walked + ": " + e.getMessage(), e);
        }
        if (n.isEmpty() || n.get().attrs().kind() != FileAttrs.Kind.DIRECTORY) {
          throw new InvalidSpecException(loc.field(), loc.describe() + ": " + walked
              + (n.isEmpty() ? " does not exist" : " is not a directory (symlinks are not followed)"));
        }
        dir = n.get().handle();
      }
      return new NfsSession(nfs, dir, loc.describe());
    }
    throw new InvalidSpecException(loc.field(), loc.describe() + ": the server exports none of " + refused);
  }

  @Override
  public byte[] root() {
    return root;
  }

  @Override
  public String where() {
    return where;
  }

  @Override
  public FileAttrs getattr(byte[] fh, String path) throws IOException {
    return call(path, () -> Attrs.of(nfs.wrapped_getAttr(nfs.makeGetAttrRequest(fh)).getAttributes()));
  }

  /** The entries of a directory, "." and ".." left out, with attributes and handles (READDIRPLUS). */
  @Override
  public List<TreeNode<byte[]>> list(byte[] dir, String dirPath) throws IOException {
    List<TreeNode<byte[]>> out = new ArrayList<>();
    long cookie = 0;
    long verifier = 0;
    while (true) {
      long c = cookie;
      long v = verifier;
      ExactNameCalls.ReaddirplusNames r = call(dirPath,
          () -> names.readdirplus(dir, c, v, READDIR_MAX / 4, READDIR_MAX));
      List<NfsDirectoryPlusEntry> entries = r.getEntries();
      for (int i = 0; i < entries.size(); i++) {
        NfsDirectoryPlusEntry e = entries.get(i);
        byte[] bytes = r.names.get(i);
        String name = StoredNames.of(bytes);
        cookie = e.getCookie();
        if (name.equals(".") || name.equals("..")) {
          continue;
        }
        String path = dirPath.isEmpty() ? name : dirPath + "/" + name;
        if (e.getAttributes() == null || e.getFileHandle() == null) {
          lookup(dir, bytes, path).ifPresent(out::add); // the server may leave them out; ask
        } else {
          out.add(new TreeNode<>(path, bytes, Attrs.of(e.getAttributes()), e.getFileHandle()));
        }
      }
      verifier = r.getCookieverf();
      if (r.isEof() || r.getEntries().isEmpty()) {
        return out;
      }
    }
  }

  /** The entry under {@code name}, or empty when there is none (NOENT); a stale {@code dir} throws. */
  @Override
  public Optional<TreeNode<byte[]>> lookup(byte[] dir, byte[] name, String path) throws IOException {
    try {
      return Optional.of(call(path, () -> {
        var r = names.lookup(dir, name);
        byte[] fh = r.getFileHandle();
        var a = r.getAttributes();
        return new TreeNode<>(path, name, a != null ? Attrs.of(a) : getattr(fh, path), fh);
      }));
    } catch (NfsError e) {
      if (e.status == NOENT) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Reads up to {@code length} bytes at {@code offset}. */
  Read read(byte[] fh, long offset, byte[] buffer, int length, String path) throws IOException {
    return read(fh, offset, buffer, 0, length, path);
  }

  @Override
  public Read read(byte[] fh, long offset, byte[] buffer, int at, int length, String path) throws IOException {
    return call(path, () -> {
      Nfs3ReadResponse r = nfs.wrapped_getRead(nfs.makeReadRequest(fh, offset, length), buffer, at);
      return new Read(r.getBytesRead(), r.isEof());
    });
  }

  @Override
  public byte[] readlink(byte[] fh, String path) throws IOException {
    return call(path, () -> names.readlink(fh));
  }

  /** Writes all of {@code data} at {@code offset}, unstable; {@link #commit} makes it durable. */
  @Override
  public void write(byte[] fh, long offset, ByteBuffer data, String path) throws IOException {
    ByteBuffer d = data.duplicate();
    long off = offset;
    while (d.hasRemaining()) {
      int n = Math.min(d.remaining(), WRITE_SIZE);
      ByteBuffer piece = d.slice(d.position(), n);
      long at = off;
      int written = call(path, () -> {
        List<ByteBuffer> payload = new ArrayList<>(1); // mutable: nfs-client appends to it
        payload.add(piece);
        return nfs.wrapped_sendWrite(nfs.makeWriteRequest(fh, at, payload, NfsWriteRequest.UNSTABLE)).getCount();
      });
      if (written <= 0) {
        throw new IOException(where + ": " + path + ": the server wrote nothing at offset " + at);
      }
      d.position(d.position() + written);
      off += written;
    }
  }

  /**
   * One WRITE the server makes stable before it answers (FILE_SYNC) instead of an unstable WRITE and a
   * COMMIT; a server that wrote less, or less stably, than asked gets the rest and a COMMIT.
   */
  @Override
  public void writeDurably(byte[] fh, ByteBuffer data, String path) throws IOException {
    int n = data.remaining();
    if (n == 0 || n > WRITE_SIZE) {
      TreeFiles.super.writeDurably(fh, data, path);
      return;
    }
    NfsWriteResponse r = call(path, () -> {
      List<ByteBuffer> payload = new ArrayList<>(1); // mutable: nfs-client appends to it
      payload.add(data.duplicate());
      return nfs.wrapped_sendWrite(nfs.makeWriteRequest(fh, 0, payload, NfsWriteRequest.FILE_SYNC));
    });
    int written = r.getCount();
    if (written <= 0) {
      throw new IOException(where + ": " + path + ": the server wrote nothing at offset 0");
    }
    if (written < n) {
      ByteBuffer rest = data.duplicate();
      rest.position(rest.position() + written);
      write(fh, written, rest, path);
      commit(fh, path);
    } else if (r.getCommitted() != NfsWriteRequest.FILE_SYNC) {
      commit(fh, path);
    }
  }

  @Override
  public void commit(byte[] fh, String path) throws IOException {
    call(path, () -> nfs.wrapped_sendCommit(nfs.makeCommitRequest(fh, 0, 0)));
  }

  /**
   * Creates a regular file that did not exist (GUARDED): fails with {@link #EXIST} rather than open what
   * is there, so that nothing planted under the name can be written through.
   */
  @Override
  public byte[] createNew(byte[] dir, byte[] name, int mode, long uid, long gid, String path) throws IOException {
    return create(NfsCreateMode.GUARDED, dir, name, mode, uid, gid, path);
  }

  private byte[] create(NfsCreateMode how, byte[] dir, byte[] name, int mode, long uid, long gid, String path)
      throws IOException {
    NfsSetAttributes a = new NfsSetAttributes();
    a.setMode((long) mode);
    a.setUid(uid);
    a.setGid(gid);
    a.setSize(0L);
    return call(path, () -> names.create(how == NfsCreateMode.GUARDED, dir, name, a).getFileHandle());
  }

  /** Creates a directory; always with a mode (nfs-client would create it with mode 000). */
  @Override
  public byte[] mkdir(byte[] dir, byte[] name, int mode, String path) throws IOException {
    NfsSetAttributes a = new NfsSetAttributes();
    a.setMode((long) mode);
    return call(path, () -> names.mkdir(dir, name, a).getFileHandle());
  }

  @Override
  public byte[] symlink(byte[] dir, byte[] name, byte[] target, String path) throws IOException {
    return call(path, () -> {
      var r = names.symlink(dir, name, target);
      byte[] fh = r.getFileHandle();
      return fh != null ? fh : lookup(dir, name, path).orElseThrow(() -> new FileNotFoundException(path)).handle();
    });
  }

  /**
   * Removes a file or symlink. A NOENT is an error like any other: the caller listed the name, so "absent"
   * means the name did not reach the server as listed or the tree changed under us, and the entry may still
   * be there.
   */
  @Override
  public void link(byte[] file, byte[] dir, byte[] name, String path) throws IOException {
    call(path, () -> {
      names.link(file, dir, name);
      return null;
    });
  }

  @Override
  public void remove(byte[] dir, byte[] name, String path) throws IOException {
    call(path, () -> {
      names.remove(dir, name);
      return null;
    });
  }

  @Override
  public void rmdir(byte[] dir, byte[] name, String path) throws IOException {
    call(path, () -> {
      names.rmdir(dir, name);
      return null;
    });
  }

  @Override
  public void rename(byte[] fromDir, byte[] from, byte[] toDir, byte[] to, String path) throws IOException {
    call(path, () -> {
      names.rename(fromDir, from, toDir, to);
      return null;
    });
  }

  /**
   * Sets what is not null. Times go at millisecond grain: nfs-client's {@link NfsTime} carries no more.
   */
  @Override
  public void setattr(byte[] fh, SetAttrs set, String path) throws IOException {
    Integer mode = set.mode();
    Long uid = set.uid();
    Long gid = set.gid();
    Long size = set.size();
    Long atimeNanos = set.atime();
    Long mtimeNanos = set.mtime();
    NfsSetAttributes a = new NfsSetAttributes();
    if (mode != null) {
      a.setMode((long) mode);
    }
    if (uid != null) {
      a.setUid(uid);
    }
    if (gid != null) {
      a.setGid(gid);
    }
    if (size != null) {
      a.setSize(size);
    }
    if (atimeNanos != null) {
      a.setAtime(new NfsTime(Math.floorDiv(atimeNanos, 1_000_000L)));
    }
    if (mtimeNanos != null) {
      a.setMtime(new NfsTime(Math.floorDiv(mtimeNanos, 1_000_000L)));
    }
    call(path, () -> nfs.wrapped_setAttr(nfs.makeSetAttrRequest(fh, a, null)));
  }

  static final int NOENT = 2;
  static final int EXIST = 17;
  static final int STALE = 70;
  static final int JUKEBOX = 10008;
  /** How long a call is sent again while the server answers that it is busy. */
  static final Duration BUSY_LIMIT = Duration.ofSeconds(60);

  /** An NFS error status on one path, said in words. */
  static final class NfsError extends TreeFileException {
    private static final long serialVersionUID = 1L;
    final int status;

    NfsError(int status, String message, Throwable cause) {
      super(reason(status), message, cause);
      this.status = status;
    }

    private static Reason reason(int status) {
      return switch (status) {
        case NOENT -> Reason.NOT_FOUND;
        case EXIST -> Reason.EXISTS;
        case STALE -> Reason.STALE;
        default -> Reason.OTHER;
      };
    }
  }

  private static String words(int status) {
    return switch (status) {
      case 1 -> "not permitted (NFS3ERR_PERM)";
      case NOENT -> "no such file or directory (NFS3ERR_NOENT)";
      case 5 -> "I/O error (NFS3ERR_IO)";
      case 13 -> "access denied (NFS3ERR_ACCES): does the export squash root?";
      case EXIST -> "already exists (NFS3ERR_EXIST)";
      case 20 -> "not a directory (NFS3ERR_NOTDIR)";
      case 21 -> "is a directory (NFS3ERR_ISDIR)";
      case 22 -> "invalid argument (NFS3ERR_INVAL)";
      case 28 -> "no space left (NFS3ERR_NOSPC)";
      case 30 -> "read-only export (NFS3ERR_ROFS)";
      case 63 -> "name too long (NFS3ERR_NAMETOOLONG)";
      case 66 -> "directory not empty (NFS3ERR_NOTEMPTY)";
      case 69 -> "quota exceeded (NFS3ERR_DQUOT)";
      case STALE -> "stale file handle (NFS3ERR_STALE)";
      case 10004 -> "not supported by the server (NFS3ERR_NOTSUPP)";
      case JUKEBOX -> "the server stayed busy (NFS3ERR_JUKEBOX) for " + BUSY_LIMIT.toSeconds() + " s";
      default -> "NFS error " + status;
    };
  }

  interface IoCall<T> {
    T run() throws IOException;
  }

  /**
   * Runs one NFS call, naming the path in errors and turning lost connections into UnavailableException; a call
   * the server answers with "busy, try again later" (NFS3ERR_JUKEBOX) is sent again, as NFS clients do.
   */
  private <T> T call(String path, IoCall<T> c) throws IOException {
    return whileBusy(() -> once(path, c), BUSY_LIMIT);
  }

  /**
   * Runs {@code c} again while it fails with NFS3ERR_JUKEBOX, pausing 20 ms and doubling up to 1 s, for at most
   * {@code limit}; then its last failure stands.
   */
  static <T> T whileBusy(IoCall<T> c, Duration limit) throws IOException {
    long deadline = System.nanoTime() + limit.toNanos();
    for (long pause = 20; ; pause = Math.min(1000, 2 * pause)) {
      try {
        return c.run();
      } catch (NfsError e) {
        if (e.status != JUKEBOX || System.nanoTime() + pause * 1_000_000 - deadline > 0) {
          throw e;
        }
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while the NFS server was busy");
      }
    }
  }

  private <T> T once(String path, IoCall<T> c) throws IOException {
    try {
      return c.run();
    } catch (NfsError e) {
      throw e;
    } catch (FileNotFoundException e) {
      throw new NfsError(NOENT, where + ": '" + path + "': " + words(NOENT), e);
    } catch (NfsException e) {
      if (e.getCause() instanceof RpcException) {
        throw lost(path, e);
      }
      int st = e.getStatus() == null ? -1 : e.getStatus().getValue();
      throw new NfsError(st, where + ": '" + path + "': " + words(st), e);
    } catch (RpcException e) {
      throw lost(path, e);
    }
  }

  private UnavailableException lost(String path, IOException e) {
    return new UnavailableException(where + ": lost the NFS server while working on '" + path + "': "
        + e.getMessage(), e);
  }
}
