package io.lencap.nfs;

import com.emc.ecs.nfsclient.nfs.NfsGetAttributes;
import com.emc.ecs.nfsclient.nfs.NfsTime;
import com.emc.ecs.nfsclient.nfs.NfsType;
import io.lencap.tree.FileAttrs;
import io.lencap.tree.FileAttrs.Kind;
import java.lang.reflect.Field;

/**
 * What NFS tells of one object, as the tree engine's {@link FileAttrs}. Times are nanoseconds since the
 * epoch: nfs-client exposes milliseconds only, so we read its private second and nanosecond fields (falling
 * back to milliseconds) because change detection at millisecond grain would miss a write that lands in the
 * same millisecond.
 */
final class Attrs {

  private static final Field SECONDS = field("seconds");
  private static final Field NANOS = field("nanoseconds");

  private Attrs() {}

  static FileAttrs of(NfsGetAttributes a) {
    return new FileAttrs(kind(a.getType()), (int) (a.getMode() & 07777), a.getUid(), a.getGid(), a.getSize(),
        a.getFileid(), a.getFsid(), nanos(a.getAtime()), nanos(a.getMtime()), nanos(a.getCtime()), a.getNlink());
  }

  static Kind kind(NfsType t) {
    if (t == null) {
      return Kind.OTHER;
    }
    return switch (t.getValue()) {
      case 1 -> Kind.FILE;
      case 2 -> Kind.DIRECTORY;
      case 5 -> Kind.SYMLINK;
      default -> Kind.OTHER;
    };
  }

  static long nanos(NfsTime t) {
    if (t == null) {
      return 0;
    }
    if (SECONDS != null && NANOS != null) {
      try {
        return SECONDS.getLong(t) * 1_000_000_000L + NANOS.getLong(t);
      } catch (IllegalAccessException e) {
        // fall through to milliseconds
      }
    }
    return t.getTimeInMillis() * 1_000_000L;
  }

  private static Field field(String name) {
    try {
      Field f = NfsTime.class.getDeclaredField(name);
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }
}
