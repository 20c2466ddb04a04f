package io.lencap.nfs;

import com.emc.ecs.nfsclient.nfs.NfsRequestBase;
import com.emc.ecs.nfsclient.nfs.NfsResponseBase;
import com.emc.ecs.nfsclient.nfs.NfsResponseHandler;
import com.emc.ecs.nfsclient.nfs.NfsSetAttributes;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3CreateResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3LinkResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3LookupResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3MkdirResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3ReaddirplusResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3ReadlinkResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3RemoveResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3RenameResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3RmdirResponse;
import com.emc.ecs.nfsclient.nfs.nfs3.Nfs3SymlinkResponse;
import com.emc.ecs.nfsclient.rpc.RpcException;
import com.emc.ecs.nfsclient.rpc.RpcWrapper;
import com.emc.ecs.nfsclient.rpc.Xdr;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The NFSv3 calls that carry a file name or symlink target, with its exact bytes. nfs-client turns names
 * into Java strings with UTF-8 both ways (and trims them): a name that is not valid UTF-8 comes back as
 * replacement characters, so two such names collide, and a call with the decoded name reaches another file
 * or none. Here the arguments that hold names are marshalled from bytes, and the two replies that hold
 * names (READDIRPLUS, READLINK) are parsed by nfs-client and then scanned once more for the raw bytes. The
 * calls go through nfs-client's own RPC wrapper (retries, connection), read from its private field.
 */
final class ExactNameCalls {
  private static final int NFS_PROGRAM = 100003;
  private static final int VERSION = 3;
  private static final int LOOKUP = 3;
  private static final int CREATE = 8;
  private static final int MKDIR = 9;
  private static final int SYMLINK = 10;
  private static final int REMOVE = 12;
  private static final int RMDIR = 13;
  private static final int RENAME = 14;
  private static final int LINK = 15;
  /** An NFSv3 fattr3 on the wire: 5 four-byte and 8 eight-byte fields. */
  private static final int FATTR3_BYTES = 84;

  private final Nfs3 nfs;
  private final RpcWrapper<NfsRequestBase, NfsResponseBase> rpc;

  @SuppressWarnings("unchecked")
  ExactNameCalls(Nfs3 nfs) {
    this.nfs = nfs;
    try {
      Field f = Nfs3.class.getDeclaredField("_rpcWrapper");
      f.setAccessible(true);
      this.rpc = (RpcWrapper<NfsRequestBase, NfsResponseBase>) f.get(nfs);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("this nfs-client version hides its RPC wrapper: names cannot be sent as bytes", e);
    }
  }

  Nfs3LookupResponse lookup(byte[] dir, byte[] name) throws IOException {
    return call(request(LOOKUP, dir, x -> x.putByteArray(name)), Nfs3LookupResponse::new);
  }

  /** CREATE, GUARDED (fails with NFS3ERR_EXIST when the name exists) or UNCHECKED. */
  Nfs3CreateResponse create(boolean guarded, byte[] dir, byte[] name, NfsSetAttributes a) throws IOException {
    return call(request(CREATE, dir, x -> {
      x.putByteArray(name);
      x.putInt(guarded ? 1 : 0); // createmode3: UNCHECKED = 0, GUARDED = 1
      a.marshalling(x);
    }), Nfs3CreateResponse::new);
  }

  Nfs3MkdirResponse mkdir(byte[] dir, byte[] name, NfsSetAttributes a) throws IOException {
    return call(request(MKDIR, dir, x -> {
      x.putByteArray(name);
      a.marshalling(x);
    }), Nfs3MkdirResponse::new);
  }

  Nfs3SymlinkResponse symlink(byte[] dir, byte[] name, byte[] target) throws IOException {
    return call(request(SYMLINK, dir, x -> {
      x.putByteArray(name);
      new NfsSetAttributes().marshalling(x);
      x.putByteArray(target);
    }), Nfs3SymlinkResponse::new);
  }

  void remove(byte[] dir, byte[] name) throws IOException {
    call(request(REMOVE, dir, x -> x.putByteArray(name)), Nfs3RemoveResponse::new);
  }

  void rmdir(byte[] dir, byte[] name) throws IOException {
    call(request(RMDIR, dir, x -> x.putByteArray(name)), Nfs3RmdirResponse::new);
  }

  void rename(byte[] fromDir, byte[] from, byte[] toDir, byte[] to) throws IOException {
    call(request(RENAME, fromDir, x -> {
      x.putByteArray(from);
      x.putByteArray(toDir);
      x.putByteArray(to);
    }), Nfs3RenameResponse::new);
  }

  /** LINK: one more name for {@code file} in {@code dir}. */
  void link(byte[] file, byte[] dir, byte[] name) throws IOException {
    call(request(LINK, file, x -> {
      x.putByteArray(dir);
      x.putByteArray(name);
    }), Nfs3LinkResponse::new);
  }

  byte[] readlink(byte[] fh) throws IOException {
    return call(nfs.makeReadlinkRequest(fh), ReadlinkBytes::new).target;
  }

  /** One READDIRPLUS page; {@link ReaddirplusNames#names} holds each entry's name bytes, in order. */
  ReaddirplusNames readdirplus(byte[] dir, long cookie, long verifier, int dirCount, int maxCount)
      throws IOException {
    return call(nfs.makeReaddirplusRequest(dir, cookie, verifier, dirCount, maxCount), ReaddirplusNames::new);
  }

  private <T extends NfsResponseBase> T call(NfsRequestBase request, Supplier<T> response) throws IOException {
    NfsResponseHandler<T> handler = new NfsResponseHandler<>() {
      @Override
      protected T makeNewResponse() {
        return response.get();
      }
    };
    rpc.callRpcWrapped(request, handler);
    return handler.getResponse();
  }

  private NfsRequestBase request(int procedure, byte[] handle, Consumer<Xdr> arguments) throws IOException {
    return new NfsRequestBase(NFS_PROGRAM, VERSION, procedure, nfs.getCredential(), handle) {
      @Override
      public void marshalling(Xdr x) {
        super.marshalling(x); // RPC header and the first handle (the directory's, LINK's file)
        arguments.accept(x);
      }
    };
  }

  /** Reads past the RPC reply header (as nfs-client's RpcResponse does) and returns the NFS status. */
  private static int nfsStatus(Xdr x) {
    x.setOffset(0);
    x.getInt(); // xid
    x.getInt(); // direction
    x.getInt(); // reply status: accepted, or nfs-client would have thrown
    x.skip(4); // verifier flavour
    x.getByteArray(); // verifier body
    x.getInt(); // accept status
    return x.getInt();
  }

  private static void skipPostOpAttr(Xdr x) {
    if (x.getBoolean()) {
      x.skip(FATTR3_BYTES);
    }
  }

  private static byte[] opaque(Xdr x) {
    int n = x.getInt();
    byte[] b = new byte[n];
    x.getBytes(n, b, 0);
    return b;
  }

  /** READLINK's reply with the target's bytes. */
  static final class ReadlinkBytes extends Nfs3ReadlinkResponse {
    byte[] target;

    @Override
    public void unmarshalling(Xdr x) throws RpcException {
      super.unmarshalling(x);
      int end = x.getOffset();
      if (nfsStatus(x) == 0) {
        skipPostOpAttr(x);
        target = opaque(x);
      }
      x.setOffset(end);
    }
  }

  /** READDIRPLUS's reply with each entry's name bytes. */
  static final class ReaddirplusNames extends Nfs3ReaddirplusResponse {
    final List<byte[]> names = new ArrayList<>();

    @Override
    public void unmarshalling(Xdr x) throws RpcException {
      super.unmarshalling(x);
      int end = x.getOffset();
      if (nfsStatus(x) == 0) {
        skipPostOpAttr(x); // the directory's
        x.skip(8); // cookie verifier
        while (x.getBoolean()) {
          x.skip(8); // file id
          names.add(opaque(x));
          x.skip(8); // cookie
          skipPostOpAttr(x);
          if (x.getBoolean()) {
            x.getByteArray(); // handle
          }
        }
      }
      x.setOffset(end);
      if (names.size() != getEntries().size()) {
        throw new RpcException(com.emc.ecs.nfsclient.rpc.RpcStatus.NETWORK_ERROR, "READDIRPLUS reply: " + names.size() + " names for " + getEntries().size()
            + " entries");
      }
    }
  }
}
