package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.spi.ProviderContext;
import java.nio.file.Path;
import java.time.Duration;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;

/**
 * The libvirt domain one member names: its connection, its name, its work directory, and the libvirt calls every
 * phase makes on it, each translated by {@link LibvirtErrors} with the member and the domain in the message.
 */
final class MemberDomain {
  /** How long resume and release wait for a restarting libvirtd. */
  static final Duration RECONNECT_PATIENCE = Duration.ofSeconds(30);

  private final Resource resource;
  private final Connections connections;
  private final ProviderContext context;
  private final String member;
  private final String name;
  private final String where;
  /** The connection prepare opened; the phases after it work on the same one. */
  private volatile LibvirtConnection prepared;

  MemberDomain(Resource resource, ProviderContext context, Connections connections) {
    this.resource = resource;
    this.connections = connections;
    this.context = context;
    this.member = resource.id();
    this.name = domainName(resource, "resources[" + resource.id() + "].properties.domain");
    this.where = "domain " + name + " on " + resource.redactedLocator();
  }

  static String domainName(Resource r, String field) {
    String name = r.property("domain").orElseThrow(() -> new InvalidSpecException(field,
        "missing: name the libvirt domain, e.g. .property(\"domain\", \"vm1\")"));
    if (name.isBlank() || name.contains("/") || name.contains("\n")) {
      throw new InvalidSpecException(field, "'" + name + "' is not a libvirt domain name");
    }
    return name;
  }

  Resource resource() {
    return resource;
  }

  /** The resource id, which errors name. */
  String member() {
    return member;
  }

  /** The libvirt domain name. */
  String name() {
    return name;
  }

  /** The domain and its (redacted) connection, for messages. */
  String where() {
    return where;
  }

  /** Where memory files, save images and overlays of block devices go: never a path from the store. */
  Path workDirectory() {
    return context.workDirectory().resolve("libvirt");
  }

  /** Opens the connection the following phases use (prepare, prepareRestore). */
  LibvirtConnection connect() {
    prepared = connections.get(resource.locator(), member);
    return prepared;
  }

  /** The connection prepare opened, else a working one. */
  LibvirtConnection connection() {
    LibvirtConnection c = prepared;
    return c != null ? c : current();
  }

  /** A working connection now (one that stopped working is replaced). */
  LibvirtConnection current() {
    return connections.get(resource.locator(), member);
  }

  /** A working connection, waiting for a restarting libvirtd: for resuming and merging back, which must not give up. */
  LibvirtConnection patiently() throws InterruptedException {
    return connections.getPatiently(resource.locator(), member, RECONNECT_PATIENCE);
  }

  Domain lookup() {
    LibvirtConnection c = connection();
    return call("looking it up", () -> c.domainLookupByName(name));
  }

  /** The domain of this name on the connection; null when there is none. */
  Domain findByName(LibvirtConnection c) {
    try {
      return call("looking it up", () -> c.domainLookupByName(name));
    } catch (NotFoundException e) {
      return null;
    }
  }

  /** The domain with this UUID if it is this member's (by name); null when there is none. */
  Domain ownDomain(LibvirtConnection c, String uuid) {
    Domain d;
    try {
      d = call("looking it up by UUID", () -> c.domainLookupByUUIDString(uuid));
    } catch (NotFoundException e) {
      return null;
    }
    if (!call("reading its name", d::getName).equals(name)) {
      throw new LencapException(where + ": the cut to release names domain UUID " + uuid + ", which is not "
          + name + "'s; refusing to touch it");
    }
    return d;
  }

  /** Resumes the domain if something paused it, unless it stopped on an I/O error (that is a failure to see). */
  void resumeIfPaused() throws InterruptedException {
    LibvirtConnection c = patiently();
    Domain d = findByName(c);
    if (d == null) {
      return;
    }
    String id = call("reading its UUID", d::getUUIDString);
    LibvirtConnection.State s = c.state(id, member, where + ": reading its state");
    if (s.paused() && s.reason() != LibvirtConnection.PAUSED_IOERROR) {
      run("resuming it", d::resume);
    }
  }

  /** Starts the domain again from a save image, paused or running as it was before the capture. */
  void startFromImage(Path image, boolean running) throws InterruptedException {
    LibvirtConnection c = patiently();
    String what = where + ": starting it again from its save image";
    int flags = running ? LibvirtNative.SAVE_RUNNING : LibvirtNative.SAVE_PAUSED;
    try {
      c.restoreImage(image, null, flags, member, what);
    } catch (LencapException e) {
      if (LibvirtErrors.code(e) != ErrorNumber.VIR_ERR_INVALID_ARG) {
        throw e;
      }
      c.restoreImage(image, null, 0, member, what); // the driver takes no flags: it starts running
      if (!running) {
        run("suspending it as it was", () -> c.domainLookupByName(name).suspend());
      }
    }
  }

  <T> T call(String what, LibvirtErrors.Call<T> c) {
    return LibvirtErrors.call(member, where + ": " + what, c);
  }

  void run(String what, LibvirtErrors.Action a) {
    LibvirtErrors.run(member, where + ": " + what, a);
  }

  /** A checkpoint id as a file-name part. */
  static String tag(String checkpointId) {
    return checkpointId.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  @Override
  public String toString() {
    return where;
  }
}
