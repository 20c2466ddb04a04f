package io.lencap.libvirt;

import io.lencap.api.LencapException;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A cut's artefacts, checked before a release acts on them. Crash repair rebuilds them from the store's journal,
 * which whoever can write the store controls: a path it names is deleted, merged or written into a definition
 * only if this host says it is the cut's own. A memory file or save image must lie in the work directory under
 * the domain's UUID; an overlay must be in the work directory under that UUID or sit beside its disk's base with
 * the name a cut gives it ({@code BASE.lencap-TAG}); a base or LUN must be in the disk's chain as libvirt shows it.
 */
final class CutArtefacts {
  private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private final Map<String, String> artefacts;
  private final Path work;
  private final String where;
  private final String uuid;
  private final Map<String, Set<Path>> chainFiles = new java.util.HashMap<>();
  private final Map<String, Set<URI>> chainLuns = new java.util.HashMap<>();

  CutArtefacts(Map<String, String> artefacts, Path work, String where) {
    this.artefacts = artefacts;
    this.work = work.toAbsolutePath().normalize();
    this.where = where;
    String id = artefacts.getOrDefault("uuid", "");
    if (!UUID.matcher(id).matches()) {
      throw refused("uuid", id);
    }
    this.uuid = id;
  }

  String uuid() {
    return uuid;
  }

  /** Records the disk chains of the domain (its live and inactive XML), what overlays and bases are checked against. */
  void chains(DomainXml... views) {
    for (DomainXml x : views) {
      for (DomainXml.Disk d : x.disks()) {
        Set<Path> files = chainFiles.computeIfAbsent(d.dev(), k -> new HashSet<>());
        d.source().ifPresent(files::add);
        d.backing().ifPresent(files::add);
        Set<URI> luns = chainLuns.computeIfAbsent(d.dev(), k -> new HashSet<>());
        d.lun().ifPresent(luns::add);
        d.backingLun().ifPresent(luns::add);
      }
    }
  }

  /** The devices the cut gave an overlay. */
  Set<String> overlayDevices() {
    Set<String> out = new TreeSet<>();
    for (String k : artefacts.keySet()) {
      if (k.startsWith("overlay.")) {
        out.add(k.substring("overlay.".length()));
      }
    }
    return out;
  }

  /** A file the cut wrote into the work directory ({@code UUID-*SUFFIX}). */
  Path workFile(String key, String suffix) {
    Path p = path(key);
    if (!inWork(p) || !p.getFileName().toString().endsWith(suffix)) {
      throw refused(key, p.toString());
    }
    return p;
  }

  /** The overlay of disk {@code dev}. */
  Path overlay(String dev) {
    String key = "overlay." + dev;
    Path p = path(key);
    if (inWork(p) && p.getFileName().toString().endsWith(".qcow2")) {
      return p;
    }
    // Beside its base: BASE.lencap-TAG, the base being in the disk's chain.
    String name = p.getFileName().toString();
    int mark = name.lastIndexOf(".lencap-");
    if (mark > 0 && chainFiles.getOrDefault(dev, Set.of()).contains(p.resolveSibling(name.substring(0, mark)))) {
      return p;
    }
    throw refused(key, p.toString());
  }

  /** The file base of disk {@code dev}. */
  Path base(String dev) {
    String key = "base." + dev;
    Path p = path(key);
    if (!chainFiles.getOrDefault(dev, Set.of()).contains(p)) {
      throw refused(key, p.toString());
    }
    return p;
  }

  /** The LUN under the overlay of disk {@code dev}, if the cut recorded one. */
  Optional<URI> lun(String dev) {
    String key = "lun." + dev;
    String v = artefacts.get(key);
    if (v == null) {
      return Optional.empty();
    }
    URI lun = URI.create(v);
    if (!chainLuns.getOrDefault(dev, Set.of()).contains(lun)) {
      throw refused(key, v);
    }
    return Optional.of(lun);
  }

  private boolean inWork(Path p) {
    return p.getParent() != null && p.getParent().equals(work) && p.getFileName().toString().startsWith(uuid + "-");
  }

  private Path path(String key) {
    String v = artefacts.get(key);
    if (v == null || v.isEmpty()) {
      throw new LencapException(where + ": the cut to release has no " + key);
    }
    Path p = Path.of(v);
    if (!p.isAbsolute() || !p.normalize().equals(p) || List.of(v.split("/")).contains("..")) {
      throw refused(key, v);
    }
    return p;
  }

  private LencapException refused(String key, String value) {
    return new LencapException(where + ": refusing to release a cut whose " + key + " is '" + value + "': it is "
        + "not an artefact this host's libvirt or work directory shows as the cut's own (the store's journal is "
        + "not trusted to name host files)");
  }
}
