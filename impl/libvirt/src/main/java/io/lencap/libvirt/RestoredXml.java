package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a domain XML read from the store fit to start on this host. Host-side settings come from this host:
 * disks point at the files this restore wrote ({@link DiskTargets}), file consoles at the replaced domain's or
 * into the caller's directory, the emulator is the replaced domain's (or libvirt's default for the machine),
 * graphics passwords are the replaced domain's or the caller's, never the store's. What still reaches into the
 * host ({@link HostPassthrough}) is refused unless the caller opted in.
 */
final class RestoredXml {
  private static final Logger log = LoggerFactory.getLogger(RestoredXml.class);
  /** The member secret a restored domain's VNC/SPICE password comes from when no replaced domain has one. */
  static final String GRAPHICS_PASSWORD = "graphics.password";
  /** The stored attribute listing the graphics types whose password the capture kept out of the store. */
  static final String GRAPHICS_PROTECTED = "graphics.protected";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

  /**
   * Graphics passwords from the caller.
   *
   * @param given the member's {@link #GRAPHICS_PASSWORD} secret
   * @param protectedTypes graphics types that had a password when captured: without one given, they get a
   *     random one rather than none (a guest's console must not open up because its password was kept out)
   */
  record Passwords(Optional<String> given, Set<String> protectedTypes) {}

  private final Optional<DomainXml> replaced;
  private final Map<String, Path> disks;
  private final DiskTargets targets;
  private final Passwords passwords;
  private final boolean allowPassthrough;
  private final String optInField;
  private final String where;
  private final Set<Path> relocated = new HashSet<>();

  /**
   * @param replaced the (secure) XML of the domain the restore replaces on the target connection, if any
   * @param disks the files this restore wrote, by guest device
   * @param optInField the property that opts in to passthrough, for the error
   */
  RestoredXml(Optional<DomainXml> replaced, Map<String, Path> disks, DiskTargets targets, Passwords passwords,
      boolean allowPassthrough, String optInField, String where) {
    this.replaced = replaced;
    this.disks = Map.copyOf(disks);
    this.targets = targets;
    this.passwords = passwords;
    this.allowPassthrough = allowPassthrough;
    this.optInField = optInField;
    this.where = where;
  }

  /** Rewrites {@code stored} in place (returned) and checks it. */
  DomainXml apply(DomainXml stored) {
    stored.withDiskSources(disks);
    Set<Path> own = replaced.map(DomainXml::characterFiles).orElse(Set.of());
    Map<Path, Path> moved = new HashMap<>();
    stored.withCharacterFiles(p -> own.contains(p) ? p : moved.computeIfAbsent(p, k ->
        targets.characterFile("console" + moved.size()).orElse(k)));
    relocated.addAll(moved.values());
    stored.withEmulator(replaced.flatMap(DomainXml::emulator));
    Map<String, String> current = replaced.map(DomainXml::graphicsPasswords).orElse(Map.of());
    stored.withGraphicsPasswords(type -> current.containsKey(type) ? current.get(type)
        : passwords.given().orElse(passwords.protectedTypes().contains(type) ? randomPassword() : null));
    check(stored);
    return stored;
  }

  /** Checks XML that a driver starts as it is (test, Xen: no XML replacement on restore). */
  void checkUnchanged(DomainXml image) {
    check(image);
  }

  private void check(DomainXml xml) {
    Set<Path> allowed = new HashSet<>(disks.values());
    allowed.addAll(relocated);
    replaced.ifPresent(r -> {
      for (DomainXml.Disk d : r.disks()) {
        d.source().ifPresent(allowed::add);
        d.backing().ifPresent(allowed::add);
      }
      allowed.addAll(r.characterFiles());
    });
    List<String> found = HostPassthrough.find(xml, allowed);
    if (found.isEmpty()) {
      return;
    }
    if (!allowPassthrough) {
      throw new InvalidSpecException(optInField, where + ": the stored domain XML reaches into this host: "
          + String.join("; ", found) + ". Lencap does not let the store decide what this host runs or opens. "
          + "Restore it anyway only if you trust the store: .property(\"" + HostPassthrough.OPT_IN + "\", \"true\")"
          + " on the member or its placement");
    }
    log.warn("{}: restoring stored XML with host passthrough, as {} allows: {}", where, HostPassthrough.OPT_IN, found);
  }

  /** Eight characters: VNC's limit. */
  private static String randomPassword() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return b.toString();
  }
}
