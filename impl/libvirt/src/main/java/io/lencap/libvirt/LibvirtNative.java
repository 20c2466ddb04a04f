package io.lencap.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import org.libvirt.jna.ConnectionPointer;
import org.libvirt.jna.DomainPointer;

/**
 * The few libvirt calls libvirt-java 0.5.4 does not wrap, declared over the same {@code libvirt.so.0}.
 * Signatures follow libvirt's C API (libvirt-domain.h); every {@code unsigned int flags} is an int.
 */
interface LibvirtNative extends com.sun.jna.Library {
  LibvirtNative INSTANCE = Native.load("virt", LibvirtNative.class);

  /** virDomainSaveRestoreFlags: start the restored domain paused (or running) whatever the image says. */
  int SAVE_RUNNING = 1 << 1;
  int SAVE_PAUSED = 1 << 2;
  /** virDomainSaveImageXMLFlags: include security-sensitive data (needed to restore with the same config). */
  int SAVE_IMAGE_XML_SECURE = 1;

  /** {@code virDomainPtr virDomainLookupByUUIDString(virConnectPtr conn, const char *uuidstr)}; free it. */
  DomainPointer virDomainLookupByUUIDString(ConnectionPointer conn, String uuid);

  /** {@code int virDomainFree(virDomainPtr domain)}. */
  int virDomainFree(DomainPointer domain);

  /** {@code int virDomainSaveFlags(virDomainPtr domain, const char *to, const char *dxml, unsigned int flags)}. */
  int virDomainSaveFlags(DomainPointer domain, String to, String dxml, int flags);

  /** {@code int virDomainRestoreFlags(virConnectPtr conn, const char *from, const char *dxml, unsigned int flags)}. */
  int virDomainRestoreFlags(ConnectionPointer conn, String from, String dxml, int flags);

  /**
   * {@code char *virDomainSaveImageGetXMLDesc(virConnectPtr conn, const char *file, unsigned int flags)}:
   * the caller frees the string.
   */
  Pointer virDomainSaveImageGetXMLDesc(ConnectionPointer conn, String file, int flags);

  /** {@code int virDomainGetState(virDomainPtr domain, int *state, int *reason, unsigned int flags)}. */
  int virDomainGetState(DomainPointer domain, IntByReference state, IntByReference reason, int flags);

  /** virDomainCheckpointDeleteFlags: forget the checkpoint without touching its bitmaps (they may be gone). */
  int CHECKPOINT_DELETE_METADATA_ONLY = 1 << 1;

  /**
   * {@code virDomainCheckpointPtr virDomainCheckpointCreateXML(virDomainPtr domain, const char *xmlDesc,
   * unsigned int flags)}; free it.
   */
  Pointer virDomainCheckpointCreateXML(DomainPointer domain, String xml, int flags);

  /** {@code virDomainCheckpointPtr virDomainCheckpointLookupByName(virDomainPtr, const char *name, unsigned int)}. */
  Pointer virDomainCheckpointLookupByName(DomainPointer domain, String name, int flags);

  /**
   * {@code int virDomainListAllCheckpoints(virDomainPtr, virDomainCheckpointPtr **checkpoints, unsigned int)}: the
   * caller frees each checkpoint and the array.
   */
  int virDomainListAllCheckpoints(DomainPointer domain, PointerByReference checkpoints, int flags);

  /** {@code const char *virDomainCheckpointGetName(virDomainCheckpointPtr)}: owned by the checkpoint. */
  String virDomainCheckpointGetName(Pointer checkpoint);

  /** {@code int virDomainCheckpointDelete(virDomainCheckpointPtr checkpoint, unsigned int flags)}. */
  int virDomainCheckpointDelete(Pointer checkpoint, int flags);

  /** {@code int virDomainCheckpointFree(virDomainCheckpointPtr checkpoint)}. */
  int virDomainCheckpointFree(Pointer checkpoint);

  /**
   * {@code int virDomainBackupBegin(virDomainPtr domain, const char *backupXML, const char *checkpointXML,
   * unsigned int flags)}: in pull mode QEMU exports a point-in-time view of each disk over NBD until the job ends
   * (virDomainAbortJob).
   */
  int virDomainBackupBegin(DomainPointer domain, String backupXml, String checkpointXml, int flags);

  /** {@code char *virDomainBackupGetXMLDesc(virDomainPtr domain, unsigned int flags)}: the caller frees it. */
  Pointer virDomainBackupGetXMLDesc(DomainPointer domain, int flags);
}
