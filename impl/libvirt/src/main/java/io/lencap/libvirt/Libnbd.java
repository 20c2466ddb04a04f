package io.lencap.libvirt;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;

/**
 * The few calls of libnbd (Debian's {@code libnbd0}) that {@link NbdExport} makes: connect, negotiate a metadata
 * context, ask for block status, read, and for a differential restore write and flush. Signatures follow {@code libnbd.h} 1.14; {@code size_t} is a Java long
 * (64-bit Linux).
 */
interface Libnbd extends com.sun.jna.Library {
  /** Loaded on first use: a host without libnbd still captures, by hashing (the note says why). */
  static Libnbd load() {
    return Holder.INSTANCE;
  }

  /** Bit 0 of a {@code qemu:dirty-bitmap:} extent's flags: the extent was written since the bitmap began. */
  int DIRTY = 1;

  /** The metadata context of what is allocated, and bit 1 of its flags: the extent reads as zeros. */
  String ALLOCATION = "base:allocation";

  int ZERO = 2;

  Pointer nbd_create();

  void nbd_close(Pointer h);

  /** The calling thread's last error message; owned by libnbd. */
  String nbd_get_error();

  int nbd_set_export_name(Pointer h, String name);

  int nbd_add_meta_context(Pointer h, String name);

  int nbd_connect_unix(Pointer h, String socket);

  int nbd_connect_tcp(Pointer h, String host, String port);

  int nbd_can_meta_context(Pointer h, String name);

  long nbd_get_size(Pointer h);

  int nbd_pread(Pointer h, Pointer buf, long count, long offset, int flags);

  int nbd_pwrite(Pointer h, Pointer buf, long count, long offset, int flags);

  int nbd_flush(Pointer h, int flags);

  /** Starts a TCP connection and the handshake without waiting; {@link #nbd_poll} drives them. */
  int nbd_aio_connect_tcp(Pointer h, String host, String port);

  /** 1 while the handshake is under way. */
  int nbd_aio_is_connecting(Pointer h);

  /** 1 once the handle can take commands. */
  int nbd_aio_is_ready(Pointer h);

  /** Starts a read without waiting; returns its cookie, or -1. */
  long nbd_aio_pread(Pointer h, Pointer buf, long count, long offset, Completion.ByValue completion, int flags);

  /** 1 when the command of {@code cookie} completed (and is retired), 0 while in flight, -1 when it failed. */
  int nbd_aio_command_completed(Pointer h, long cookie);

  /** Runs the handle's state machine once, waiting at most {@code timeoutMs}: 1 if it moved, 0 on timeout, -1. */
  int nbd_poll(Pointer h, int timeoutMs);

  int nbd_block_status(Pointer h, long count, long offset, ExtentCallback.ByValue callback, int flags);

  /** {@code int (*)(void *user_data, const char *metacontext, uint64_t offset, uint32_t *entries, size_t n, int *error)}. */
  interface Extents extends Callback {
    int invoke(Pointer userData, String metacontext, long offset, Pointer entries, long count, Pointer error);
  }

  /** {@code nbd_extent_callback}, passed by value. */
  @Structure.FieldOrder({"callback", "user_data", "free"})
  class ExtentCallback extends Structure {
    public Extents callback;
    public Pointer user_data;
    public Pointer free;

    /** The by-value form libnbd's signature takes. */
    public static final class ByValue extends ExtentCallback implements Structure.ByValue {}
  }

  /** {@code nbd_completion_callback}, passed by value; all null: the caller polls for the command's end instead. */
  @Structure.FieldOrder({"callback", "user_data", "free"})
  class Completion extends Structure {
    public Pointer callback;
    public Pointer user_data;
    public Pointer free;

    /** The by-value form libnbd's signature takes. */
    public static final class ByValue extends Completion implements Structure.ByValue {}
  }

  /** Loads the library once, when first needed. */
  final class Holder {
    static final Libnbd INSTANCE = Native.load("nbd", Libnbd.class);

    private Holder() {}
  }
}
