package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.DrillPlan;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "drill", description = "Restores the group into a sandbox (directory trees under --sandbox, VMs as "
    + "new domains there), probes each member as its provider does, runs the --check command, reports pass/fail with "
    + "timings and removes the sandbox (Lencap.drill). The group itself is not touched. Exits 9 when a check fails.")
final class DrillCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(index = "0", paramLabel = "SPEC", description = "the group's spec file")
  @Nullable Path spec;

  @Parameters(index = "1", paramLabel = "CHECKPOINT", arity = "0..1", description = "an id of the group, or latest "
      + "(the default)")
  String checkpoint = "latest";

  @Option(names = "--sandbox", paramLabel = "DIR", required = true, description = "an absent or empty directory "
      + "for the sandbox's trees and VM files (QEMU must be able to read it); removed afterwards")
  @Nullable Path sandbox;

  @Option(names = "--check", paramLabel = "COMMAND", description = "a command (sh -c) run once the sandbox is up, "
      + "with LENCAP_DRILL_DIR and LENCAP_DRILL_<MEMBER>_LOCATOR (and _DOMAIN for VMs) set; exit 0 passes")
  @Nullable String check;

  @Option(names = "--place", paramLabel = "MEMBER=LOCATOR", description = "put MEMBER's sandbox at LOCATOR (another "
      + "export path, which must exist, or another LUN, which is zeroed afterwards); needed for NFS and LUN members")
  Map<String, String> place = new LinkedHashMap<>();

  @Option(names = "--keep", description = "leave the sandbox in place (to look at it)")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    LencapCli c = Commands.cli(cli);
    Encapsulation group = c.spec(Commands.given(spec));
    Path dir = Commands.given(sandbox).toAbsolutePath();
    try (var listing = Files.exists(dir) ? Files.list(dir) : null) {
      if (listing != null && listing.findAny().isPresent()) {
        throw new InvalidSpecException("--sandbox", dir + " is not empty; give an absent or empty directory");
      }
    }
    String suffix = "drill-" + UUID.randomUUID().toString().substring(0, 8);
    Map<String, Resource> placed = sandboxOf(group, dir, suffix, place);
    Placement.Builder placement = Placement.builder();
    placed.forEach((id, r) -> placement.move(id, r.locator(), r.properties()));
    DrillPlan.Builder plan = DrillPlan.builder().sandbox(placement.build()).keep(keep);
    SandboxMember.CheckRun checked = check == null ? null : new SandboxMember.CheckRun(check, dir);
    if (checked != null) {
      plan.check(checked::run);
    }
    Files.createDirectories(dir);
    DrillOutput report;
    try (Lencap lencap = c.open()) {
      Checkpoint cp = Checkpoints.inGroup(lencap, group.name(), checkpoint);
      report = new DrillOutput(lencap.drill(group, cp.id(), plan.build()).join(), dir, checked);
    } finally {
      if (!keep) {
        removeEmptyDirectories(dir);
      }
    }
    if (!keep && Files.exists(dir)) {
      report.left.add(dir + " still holds files the providers did not restore");
    }
    report.print(c);
    return report.passed() ? 0 : ExitStatus.DRILL_FAILED.code;
  }

  /** The sandbox's resource for each member: new paths under the sandbox, new domain names. */
  static Map<String, Resource> sandboxOf(Encapsulation group, Path dir, String suffix, Map<String, String> place) {
    Map<String, Resource> out = new LinkedHashMap<>();
    Placement given = RestoreCommand.placement(place, Map.of());
    for (String member : place.keySet()) {
      if (group.resource(member).isEmpty()) {
        throw new InvalidSpecException("--place " + member, "the group has no member " + member);
      }
    }
    for (Resource r : group.resources()) {
      Path own = dir.resolve(r.id());
      Resource.Builder b = Resource.builder(r.id()).type(r.type());
      if (given.target(r.id()).isPresent()) {
        Resource placed = given.apply(r);
        out.put(r.id(), placed);
        continue;
      }
      if (r.type() == ResourceType.VIRTUAL_MACHINE) {
        String domain = r.property("domain").orElseThrow(() -> new InvalidSpecException("members[" + r.id()
            + "].properties.domain", "is required"));
        b.locator(r.locator()).property("domain", domain + "-" + suffix).property("restore.directory",
            own.toString());
      } else if (r.type() == ResourceType.FILE_TREE && "file".equals(r.locator().getScheme())) {
        b.locator(own.toUri());
      } else {
        throw new InvalidSpecException("members[" + r.id() + "]", "a drill sandboxes VMs and file: trees under "
            + "--sandbox; give " + r.type().shortName() + " member " + r.id() + " (" + r.redactedLocator() + ") a LUN "
            + "or export path of its own with --place " + r.id() + "=LOCATOR");
      }
      out.put(r.id(), b.build());
    }
    return out;
  }

  /**
   * Removes the directories the drill made once the providers removed what they restored, leaving anything else
   * (which the report then names): the sandbox directory is the command's, its contents the providers'.
   */
  static void removeEmptyDirectories(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      List<Path> all = new ArrayList<>(paths.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList());
      java.util.Collections.reverse(all);
      for (Path p : all) {
        try (var inside = Files.list(p)) {
          if (inside.findAny().isEmpty()) {
            Files.delete(p);
          }
        }
      }
    }
  }
}
