package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.libvirt.StoragePool;
import org.libvirt.StorageVol;
import org.libvirt.Stream;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/**
 * A directory storage pool of a remote host, named by the member's property {@value #PROPERTY} (default
 * {@value #DEFAULT}): where a remote capture has QEMU write the memory image, and where a remote restore uploads
 * disks and memory. Its files are read and written through libvirt's volume streams ({@code virStorageVolDownload},
 * {@code virStorageVolUpload}) only; the path of a volume is the host's, for libvirt and QEMU there to open, never
 * for this process.
 */
final class RemotePool {
  /** The member property naming the pool. */
  static final String PROPERTY = "pool";
  static final String DEFAULT = "lencap";
  /** libvirt sends a stream in messages of 256 KiB at most: a buffer of a few of them. */
  private static final int UPLOAD_BUFFER = 1 << 20;

  private final MemberDomain domain;
  private final LibvirtConnection conn;
  private final String name;
  private final Path directory;

  private RemotePool(MemberDomain domain, LibvirtConnection conn, String name, Path directory) {
    this.domain = domain;
    this.conn = conn;
    this.name = name;
    this.directory = directory;
  }

  /** The member's pool on its host: it must exist, be active and be a directory of files (type dir). */
  static RemotePool of(MemberDomain domain, LibvirtConnection conn, String field) {
    String name = domain.resource().property(PROPERTY).orElse(DEFAULT);
    String what = "storage pool '" + name + "' on " + domain.resource().redactedLocator();
    StoragePool pool;
    try {
      pool = domain.call("looking up " + what, () -> conn.storagePoolLookupByName(name));
    } catch (NotFoundException e) {
      throw new InvalidSpecException(field, what + " does not exist: a remote member's memory and restored disks "
          + "go into a directory pool of its host; define one (virsh pool-define-as " + name + " dir --target DIR) "
          + "or name another with .property(\"" + PROPERTY + "\", NAME)");
    }
    try {
      if (domain.call("asking whether " + what + " is active", pool::isActive) != 1) {
        throw new InvalidSpecException(field, what + " is not active: start it (virsh pool-start " + name + ")");
      }
      String xml = domain.call("reading " + what, () -> pool.getXMLDesc(0));
      return new RemotePool(domain, conn, name, directory(xml, field, what));
    } finally {
      free(pool);
    }
  }

  static Path directory(String xml, String field, String what) {
    Element root;
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setExpandEntityReferences(false);
      root = f.newDocumentBuilder().parse(new InputSource(new StringReader(xml))).getDocumentElement();
    } catch (Exception e) {
      throw new LencapException("libvirt described " + what + " in a way Lencap does not read: " + e.getMessage(), e);
    }
    Element target = DomainXml.child(root, "target");
    Element path = target == null ? null : DomainXml.child(target, "path");
    if (!"dir".equals(root.getAttribute("type")) || path == null || !path.getTextContent().trim().startsWith("/")) {
      throw new InvalidSpecException(field, what + " is of type '" + root.getAttribute("type") + "': Lencap needs "
          + "a directory pool (type dir) there, whose volumes are files QEMU can save into and restore from");
    }
    return Path.of(path.getTextContent().trim());
  }

  String name() {
    return name;
  }

  /** The directory the host keeps the pool's volumes in (a path of that host). */
  Path directory() {
    return directory;
  }

  /** Where the host keeps volume {@code volume}: a path of that host, for libvirt and QEMU there. */
  Path path(String volume) {
    if (volume.contains("/") || volume.startsWith(".")) {
      throw new IllegalArgumentException("not a volume name: " + volume);
    }
    return directory.resolve(volume);
  }

  /** Reads the pool's volumes again (QEMU wrote a file libvirt has not seen yet). */
  void refresh() {
    StoragePool pool = pool();
    try {
      domain.run("refreshing storage pool '" + name + "'", () -> pool.refresh(0));
    } finally {
      free(pool);
    }
  }

  /** The names of the pool's volumes. */
  String[] volumes() {
    StoragePool pool = pool();
    try {
      return domain.call("listing storage pool '" + name + "'", pool::listVolumes);
    } finally {
      free(pool);
    }
  }

  /** Deletes a volume; none of that name is not an error. */
  void delete(String volume) {
    StoragePool pool = pool();
    try {
      StorageVol v = domain.call("looking up volume " + volume, () -> pool.storageVolLookupByName(volume));
      try {
        domain.run("deleting volume " + volume + " of storage pool '" + name + "'", () -> v.delete(0));
      } finally {
        free(v);
      }
    } catch (NotFoundException e) {
      // gone already
    } finally {
      free(pool);
    }
  }

  /** A volume's size in bytes (its capacity: a file volume's length). */
  long size(String volume) {
    StoragePool pool = pool();
    try {
      StorageVol v = domain.call("looking up volume " + volume, () -> pool.storageVolLookupByName(volume));
      try {
        return domain.call("reading volume " + volume, () -> v.getInfo().capacity);
      } finally {
        free(v);
      }
    } finally {
      free(pool);
    }
  }

  /** Creates an empty file volume of {@code size} bytes (sparse) in {@code format}, raw or qcow2. */
  void create(String volume, long size, String format) {
    path(volume); // checks the name
    String xml = "<volume><name>" + volume.replace("&", "&amp;").replace("<", "&lt;") + "</name><capacity unit='bytes'>" + size + "</capacity><allocation>0"
        + "</allocation><target><format type='" + format + "'/></target></volume>";
    StoragePool pool = pool();
    try {
      StorageVol v = domain.call("creating volume " + volume + " in storage pool '" + name + "'",
          () -> pool.storageVolCreateXML(xml, 0));
      free(v);
    } finally {
      free(pool);
    }
  }

  /**
   * Writes what {@code in} reads, to its end, into volume {@code volume} from its start ({@code virStorageVolUpload}
   * through a stream); {@code check} runs between buffers and throws to stop. Returns the bytes sent.
   */
  long upload(String volume, ReadableByteChannel in, Runnable check) throws IOException {
    StoragePool pool = pool();
    try {
      StorageVol v = domain.call("looking up volume " + volume, () -> pool.storageVolLookupByName(volume));
      try {
        Stream s = domain.call("opening a stream", () -> conn.streamNew(0));
        boolean done = false;
        try {
          domain.run("uploading into volume " + volume + " of storage pool '" + name + "'", () -> v.upload(s, 0, 0, 0));
          long n = 0;
          ByteBuffer buf = ByteBuffer.allocate(UPLOAD_BUFFER);
          while (in.read(buf) >= 0) {
            check.run();
            buf.flip();
            while (buf.hasRemaining()) {
              n += s.write(buf);
            }
            buf.clear();
          }
          domain.run("finishing the upload into volume " + volume, s::finish);
          done = true;
          return n;
        } catch (IOException e) {
          Throwable c = e.getCause() != null ? e.getCause() : e;
          throw new IOException(c.getMessage(), c);
        } finally {
          freeStream(s, !done);
        }
      } finally {
        free(v);
      }
    } finally {
      free(pool);
    }
  }

  /** What a download gives: the stream to read to its end, then to close (which ends it, or aborts it if unread). */
  interface Download extends ReadableByteChannel {}

  /** Opens a stream of a whole volume's bytes ({@code virStorageVolDownload}). */
  Download download(String volume) {
    StoragePool pool = pool();
    try {
      StorageVol v = domain.call("looking up volume " + volume, () -> pool.storageVolLookupByName(volume));
      try {
        Stream s = domain.call("opening a stream", () -> conn.streamNew(0));
        try {
          domain.run("downloading volume " + volume + " of storage pool '" + name + "'", () -> v.download(s, 0, 0, 0));
        } catch (RuntimeException e) {
          freeStream(s, true);
          throw e;
        }
        return new StreamDownload(s);
      } finally {
        free(v);
      }
    } finally {
      free(pool);
    }
  }

  /** Reads a download stream; closing it before its end aborts it, so the host's side ends too. */
  private static final class StreamDownload implements Download {
    private final Stream stream;
    private boolean ended;
    private boolean open = true;

    StreamDownload(Stream stream) {
      this.stream = stream;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      if (ended) {
        return -1;
      }
      try {
        int n = stream.read(dst);
        if (n < 0) {
          ended = true; // libvirt-java finished the stream at its end
        }
        return n;
      } catch (IOException e) {
        Throwable c = e.getCause() != null ? e.getCause() : e; // libvirt's reason, not libvirt-java's wrapper
        throw new IOException(c.getMessage(), c);
      }
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      if (open) {
        open = false;
        freeStream(stream, !ended);
      }
    }
  }

  private StoragePool pool() {
    return domain.call("looking up storage pool '" + name + "'", () -> conn.storagePoolLookupByName(name));
  }

  private static void freeStream(Stream s, boolean abort) {
    try {
      if (abort) {
        s.abort();
      }
    } catch (Exception e) {
      // the connection broke: the stream is gone with it
    }
    try {
      s.free();
    } catch (Exception e) {
      // as above
    }
  }

  private static void free(StoragePool p) {
    try {
      p.free();
    } catch (Exception e) {
      // freeing a handle whose connection broke: nothing is left to free
    }
  }

  private static void free(StorageVol v) {
    try {
      v.free();
    } catch (Exception e) {
      // as above
    }
  }
}
