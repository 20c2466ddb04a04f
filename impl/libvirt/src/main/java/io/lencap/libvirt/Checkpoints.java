package io.lencap.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A domain's libvirt checkpoints (persistent dirty bitmaps in its qcow2 images), through {@link LibvirtNative}:
 * libvirt-java wraps none of these calls. Lencap names its own {@code lencap-TAG} after the checkpoint that made
 * them and never touches others.
 */
final class Checkpoints {
  static final String PREFIX = "lencap-";

  private final LibvirtConnection conn;
  private final String uuid;
  private final String member;
  private final String where;

  Checkpoints(LibvirtConnection conn, String uuid, String member, String where) {
    this.conn = conn;
    this.uuid = uuid;
    this.member = member;
    this.where = where;
  }

  /** The checkpoint name for a capture's tag. */
  static String name(String tag) {
    return PREFIX + tag;
  }

  /** The {@code <domaincheckpoint>} giving each of {@code tracked} a bitmap and every other disk none. */
  static String xml(String name, Collection<String> allDisks, Collection<String> tracked) {
    StringBuilder x = new StringBuilder("<domaincheckpoint><name>").append(escape(name)).append("</name><disks>");
    for (String dev : allDisks) {
      x.append("<disk name='").append(escape(dev)).append("' checkpoint='")
          .append(tracked.contains(dev) ? "bitmap" : "no").append("'/>");
    }
    return x.append("</disks></domaincheckpoint>").toString();
  }

  /** Creates a checkpoint: from now on its bitmaps record every write to the tracked disks. */
  void create(String name, Collection<String> allDisks, Collection<String> tracked) {
    String what = where + ": creating checkpoint " + name;
    String xml = xml(name, allDisks, tracked);
    conn.withDomain(uuid, member, what, d -> {
      Pointer c = LibvirtNative.INSTANCE.virDomainCheckpointCreateXML(d, xml, 0);
      if (c == null) {
        throw LibvirtErrors.lastError(member, what);
      }
      LibvirtNative.INSTANCE.virDomainCheckpointFree(c);
      return null;
    });
  }

  /** Whether libvirt knows the checkpoint. */
  boolean exists(String name) {
    return conn.withDomain(uuid, member, where + ": looking up checkpoint " + name, d -> {
      Pointer c = LibvirtNative.INSTANCE.virDomainCheckpointLookupByName(d, name, 0);
      if (c == null) {
        return false;
      }
      LibvirtNative.INSTANCE.virDomainCheckpointFree(c);
      return true;
    });
  }

  /** The names of all the domain's checkpoints. */
  List<String> names() {
    String what = where + ": listing its checkpoints";
    return conn.withDomain(uuid, member, what, d -> {
      PointerByReference array = new PointerByReference();
      int n = LibvirtNative.INSTANCE.virDomainListAllCheckpoints(d, array, 0);
      if (n < 0) {
        throw LibvirtErrors.lastError(member, what);
      }
      List<String> out = new ArrayList<>();
      if (n == 0 || array.getValue() == null) {
        return out;
      }
      Pointer[] items = array.getValue().getPointerArray(0, n);
      try {
        for (Pointer c : items) {
          out.add(LibvirtNative.INSTANCE.virDomainCheckpointGetName(c));
        }
      } finally {
        for (Pointer c : items) {
          LibvirtNative.INSTANCE.virDomainCheckpointFree(c);
        }
        Native.free(Pointer.nativeValue(array.getValue()));
      }
      return out;
    });
  }

  /**
   * Deletes a checkpoint and its bitmaps; when the bitmaps are gone already (a disk replaced by a restore), forgets
   * its metadata. Deleting a checkpoint may merge its bitmap into another's: that only marks more, never less.
   */
  void delete(String name) {
    String what = where + ": deleting checkpoint " + name;
    conn.withDomain(uuid, member, what, d -> {
      Pointer c = LibvirtNative.INSTANCE.virDomainCheckpointLookupByName(d, name, 0);
      if (c == null) {
        return null; // gone already
      }
      try {
        if (LibvirtNative.INSTANCE.virDomainCheckpointDelete(c, 0) < 0
            && LibvirtNative.INSTANCE.virDomainCheckpointDelete(c, LibvirtNative.CHECKPOINT_DELETE_METADATA_ONLY) < 0) {
          throw LibvirtErrors.lastError(member, what);
        }
      } finally {
        LibvirtNative.INSTANCE.virDomainCheckpointFree(c);
      }
      return null;
    });
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
