package io.lencap.iscsi;

import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link StorageSnapshot} for a LUN that a tgt gateway serves from a Ceph RBD image: the shape a SAN vendor's
 * implementation takes. Supports resources with the properties {@code rbd.image} (pool/image) and
 * {@code tgt.control} (the gateway's tgtadm control port). {@code take} snapshots the image (one RBD call,
 * inside the quiesce window) and serves the snapshot read-only as a new LUN of the same target; {@code delete}
 * removes that LUN and the snapshot, and finds both by name alone, as crash repair needs. {@code changed} is
 * {@code rbd diff --from-snap BASE pool/image@NAME}: exact extents (no {@code --whole-object}, which would report
 * whole 4 MiB objects), including discarded ones.
 */
public final class RbdSnapshots implements StorageSnapshot {
  static final String IMAGE = "rbd.image";
  static final String CONTROL = "tgt.control";
  private static final Pattern LUN = Pattern.compile("LUN: (\\d+)");
  private static final Pattern EXTENT =
      Pattern.compile("\\{\"offset\":(\\d+),\"length\":(\\d+),\"exists\":\"(?:true|false)\"\\}");

  @Override
  public boolean supports(Resource resource) {
    return resource.property(IMAGE).isPresent() && resource.property(CONTROL).isPresent();
  }

  @Override
  public URI take(Resource resource, String name) {
    String snapshot = resource.property(IMAGE).orElseThrow() + "@" + name;
    int control = Integer.parseInt(resource.property(CONTROL).orElseThrow());
    check(TgtRbdGateway.rbd("snap", "create", "--no-progress", snapshot), "rbd snap create " + snapshot);
    int lun = LUN.matcher(TgtRbdGateway.show(control)).results().mapToInt(m -> Integer.parseInt(m.group(1))).max().orElse(0) + 1;
    check(TgtRbdGateway.tgtadm(control, "--op", "new", "--mode", "logicalunit", "--tid", "" + TgtRbdGateway.TID,
        "--lun", "" + lun, "--bstype", "rbd", "--backing-store", snapshot, "--bsopts",
        "conf=" + TgtRbdGateway.CEPH_CONF), "serve " + snapshot);
    LunAddress at = LunAddress.parse(resource.locator());
    return new LunAddress(at.host(), at.port(), at.iqn(), lun).toUri();
  }

  @Override
  public void delete(Resource resource, String name) {
    String snapshot = resource.property(IMAGE).orElseThrow() + "@" + name;
    int control = Integer.parseInt(resource.property(CONTROL).orElseThrow());
    OptionalInt lun = servedAs(TgtRbdGateway.show(control), snapshot);
    if (lun.isPresent()) {
      check(TgtRbdGateway.tgtadm(control, "--op", "delete", "--mode", "logicalunit", "--tid",
          "" + TgtRbdGateway.TID, "--lun", "" + lun.getAsInt()), "unserve " + snapshot);
    }
    int status = TgtRbdGateway.rbd("snap", "rm", "--no-progress", snapshot);
    if (status != 0 && status != 2) { // 2: ENOENT, already gone
      check(status, "rbd snap rm " + snapshot);
    }
  }

  /**
   * rbd answers ENOENT (2) for an unknown base or image and EINVAL (22) for a base newer than the image: both mean
   * "cannot tell", as does any other failure and any output that is not the JSON list of extents expected.
   */
  @Override
  public boolean tellsChanges(Resource resource) {
    return supports(resource);
  }

  @Override
  public Optional<List<Extent>> changed(Resource resource, String base, String name) {
    String image = resource.property(IMAGE).orElseThrow();
    Optional<String> json = TgtRbdGateway.outputIfOk(120, "rbd", "-c", TgtRbdGateway.CEPH_CONF, "--admin-socket", "",
        "diff", "--from-snap", base, image + "@" + name, "--format", "json");
    return json.flatMap(RbdSnapshots::extents);
  }

  /** The extents of {@code rbd diff --format json}, or empty when the text is anything else. */
  static Optional<List<Extent>> extents(String json) {
    String list = json.strip();
    if (!list.startsWith("[") || !list.endsWith("]")) {
      return Optional.empty();
    }
    List<Extent> extents = new ArrayList<>();
    Matcher m = EXTENT.matcher(list);
    int at = 1;
    while (at < list.length() - 1) {
      if (!m.find(at) || m.start() != at) {
        return Optional.empty();
      }
      try {
        extents.add(new Extent(Long.parseLong(m.group(1)), Long.parseLong(m.group(2))));
      } catch (IllegalArgumentException e) { // also NumberFormatException: a length past a long
        return Optional.empty();
      }
      at = m.end() < list.length() - 1 && list.charAt(m.end()) == ',' ? m.end() + 1 : m.end();
    }
    return Optional.of(List.copyOf(extents));
  }

  /** The LUN whose backing store is {@code snapshot}, from tgtadm's listing of the target. */
  static OptionalInt servedAs(String show, String snapshot) {
    int lun = -1;
    for (String line : show.split("\n")) {
      Matcher m = LUN.matcher(line);
      if (m.find()) {
        lun = Integer.parseInt(m.group(1));
      } else if (line.trim().equals("Backing store path: " + snapshot)) {
        return OptionalInt.of(lun);
      }
    }
    return OptionalInt.empty();
  }

  private static void check(int status, String what) {
    if (status != 0) {
      throw new IllegalStateException(what + " failed with status " + status);
    }
  }
}
