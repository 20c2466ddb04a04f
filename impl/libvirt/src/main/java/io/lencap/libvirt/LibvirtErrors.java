package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.NotFoundException;
import io.lencap.api.UnavailableException;
import org.libvirt.Error;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.jna.Libvirt;
import org.libvirt.jna.virError;

/**
 * The one place where libvirt's error numbers become Lencap's exceptions. Every libvirt call of this
 * module goes through {@link #call}, or {@link #lastError} after a raw call of {@link LibvirtNative}.
 */
final class LibvirtErrors {
  private LibvirtErrors() {}

  /** A libvirt call that may fail. */
  interface Call<T> {
    T run() throws LibvirtException;
  }

  /** A libvirt call without a result. */
  interface Action {
    void run() throws LibvirtException;
  }

  /**
   * Runs a libvirt call, translating its failure.
   *
   * @param member the resource id, named by {@link InvalidSpecException#field()} when the input was bad
   * @param what what was attempted, with the domain and (redacted) connection, for the message
   */
  static <T> T call(String member, String what, Call<T> call) {
    try {
      return call.run();
    } catch (LibvirtException e) {
      throw translate(e.getError(), member, what, e);
    }
  }

  static void run(String member, String what, Action action) {
    call(member, what, () -> {
      action.run();
      return null;
    });
  }

  /** The calling thread's last libvirt error, translated: call it right after a raw call failed. */
  static LencapException lastError(String member, String what) {
    virError raw = Libvirt.INSTANCE.virGetLastError();
    if (raw == null) {
      return new LencapException(what + ": libvirt failed without an error message");
    }
    return translate(new Error(raw), member, what, null);
  }

  /** The error number of a failure translated here, if it came from libvirt. */
  static ErrorNumber code(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      for (Throwable s : c.getSuppressed()) {
        if (s instanceof Coded coded) {
          return coded.code();
        }
      }
    }
    return null;
  }

  static LencapException translate(Error error, String member, String what, Throwable cause) {
    ErrorNumber code = error == null ? ErrorNumber.VIR_ERR_UNKNOWN : error.getCode();
    String message = what + ": " + (error == null ? "unknown libvirt error" : error.getMessage()) + " (" + code + ")";
    LencapException e = switch (code) {
      case VIR_ERR_NO_DOMAIN, VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_CHECKPOINT, VIR_ERR_NO_STORAGE_VOL,
          VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_NETWORK, VIR_ERR_NO_DOMAIN_BACKUP ->
          new NotFoundException(message + "; check the domain name and the connection URI");
      case VIR_ERR_NO_CONNECT, VIR_ERR_INVALID_CONN, VIR_ERR_RPC, VIR_ERR_SYSTEM_ERROR, VIR_ERR_UNKNOWN_HOST,
          VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_CANCELLED, VIR_ERR_AUTH_UNAVAILABLE, VIR_ERR_ACCESS_DENIED,
          VIR_ERR_OPERATION_DENIED, VIR_ERR_NO_SERVER, VIR_ERR_NO_CLIENT, VIR_ERR_SSH, VIR_ERR_LIBSSH,
          VIR_ERR_GNUTLS_ERROR, VIR_ERR_NO_XEN, VIR_ERR_AGENT_UNRESPONSIVE, VIR_ERR_RESOURCE_BUSY,
          VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_FAILED, VIR_ERR_NO_MEMORY, VIR_ERR_OPEN_FAILED,
          VIR_ERR_READ_FAILED, VIR_ERR_WRITE_FAILED, VIR_ERR_BLOCK_COPY_ACTIVE ->
          new UnavailableException(message + "; check that libvirtd runs and the domain is in a state that allows it");
      case VIR_ERR_OPERATION_TIMEOUT -> new LencapTimeoutException(message);
      case VIR_ERR_XML_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_XML_INVALID_SCHEMA, VIR_ERR_INVALID_ARG,
          VIR_ERR_DOM_EXIST, VIR_ERR_MULTIPLE_DOMAINS, VIR_ERR_CPU_INCOMPATIBLE ->
          new InvalidSpecException("resources[" + member + "]", message);
      case VIR_ERR_NO_SUPPORT, VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_ARGUMENT_UNSUPPORTED,
          VIR_ERR_OPERATION_UNSUPPORTED -> new LencapException(message
          + "; this libvirt driver or hypervisor cannot do it");
      default -> new LencapException(message);
    };
    e.addSuppressed(new Coded(code, cause));
    return e;
  }

  /** Carries the libvirt error number next to the translated exception (for fallbacks that test it). */
  private static final class Coded extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient ErrorNumber code;

    Coded(ErrorNumber code, Throwable cause) {
      super("libvirt error " + code, cause, false, false);
      this.code = code;
    }

    ErrorNumber code() {
      return code;
    }
  }
}
