package io.lencap.samples;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Placement;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Protects a directory tree with Lencap through the local-directory provider ({@code lencap-localdir}):
 * creates a tree of a few thousand files, captures it non-blocking, changes it, captures it again
 * (incrementally), restores the first checkpoint in place and the second onto another directory, verifies both restores by walking
 * and hashing, and prints each member's pause and bytes.
 *
 * <pre>
 * mvn -q -pl samples exec:java                                  # in ./target/demo-tree
 * mvn -q -pl samples exec:java -Dexec.args=/tmp/lencap-demo     # elsewhere
 * </pre>
 *
 * Fails (a non-zero exit) when a restored tree differs from the captured one.
 */
public final class TreeDemo {
  /** Marks a directory as the demo's own, so a second run may wipe it. */
  private static final String OWNED = ".lencap-demo";

  private TreeDemo() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : "target/demo-tree").toAbsolutePath().normalize();
    List<String> problems = run(dir, System.out);
    if (!problems.isEmpty()) {
      throw new IllegalStateException("a restored tree differs from the captured one: " + problems.size()
          + " differences, listed above");
    }
  }

  /** Runs the demo in {@code dir}; returns the differences found, empty when both restores were exact. */
  static List<String> run(Path dir, PrintStream out) throws IOException {
    claim(dir);
    Path tree = dir.resolve("tree");
    Path elsewhere = dir.resolve("elsewhere");
    DemoTree.create(tree, 2026);
    TreeDigest original = TreeDigest.of(tree);
    out.printf("Tree %s: %,d files, %,d directories, %,d symlinks, %s%n", tree, original.count("file"),
        original.count("dir"), original.count("symlink"), size(treeBytes(tree)));

    Encapsulation job = Encapsulation.builder("tree-demo")
        .resource(Resource.of("tree", ResourceType.FILE_TREE, tree.toUri().toString()))
        .policy(ResiliencyPolicy.builder().mode(CaptureMode.NON_BLOCKING).build())
        .build();
    List<String> problems = new ArrayList<>();
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store")).build()) {
      Timed<Checkpoint> first = Timed.of(() -> lencap.capture(job).join());

      DemoTree.Changes changes = DemoTree.mutate(tree, 7);
      TreeDigest changed = TreeDigest.of(tree);
      out.printf("Changed between the captures: %,d files edited, %,d deleted, %,d created%n", changes.edited(),
          changes.deleted(), changes.created());
      Timed<Checkpoint> second = Timed.of(() -> lencap.capture(job).join());

      Timed<Checkpoint> inPlace = Timed.of(() -> lencap.restore(job, first.value().id()).join());
      List<String> inPlaceDiff = original.differences(TreeDigest.of(tree));
      Placement moved = Placement.builder().move("tree", elsewhere.toUri()).build();
      Timed<Checkpoint> onto = Timed.of(() -> lencap.restore(job, second.value().id(), moved).join());
      List<String> ontoDiff = changed.differences(TreeDigest.of(elsewhere));

      out.println();
      TextTable captures = new TextTable("checkpoint", "kind", "member", "method", ">pause", ">logical", ">stored",
          ">capture took");
      for (Timed<Checkpoint> t : List.of(first, second)) {
        Checkpoint cp = t.value();
        for (MemberCheckpoint m : cp.members()) {
          captures.row(cp.id(), cp.parent().isPresent() ? "incremental" : "full", m.id(), m.method(),
              millis(m.pause()), size(m.logicalBytes()), size(m.storedBytes()), seconds(t.took()));
        }
      }
      captures.print(out);
      for (Timed<Checkpoint> t : List.of(first, second)) {
        t.value().members().forEach(m -> m.notes().forEach(n -> out.println("  note (" + m.id() + "): " + n)));
      }

      out.println();
      new TextTable("restore", "onto", ">took", "result")
          .row(first.value().id(), "in place (differential)", seconds(inPlace.took()), verdict(inPlaceDiff))
          .row(second.value().id(), elsewhere, seconds(onto.took()), verdict(ontoDiff))
          .print(out);
      report(out, "in-place restore", inPlaceDiff, problems);
      report(out, "restore elsewhere", ontoDiff, problems);
    }
    return problems;
  }

  /** Uses {@code dir} only if it is new, empty or the demo's own from an earlier run (then wipes it). */
  private static void claim(Path dir) throws IOException {
    if (Files.isDirectory(dir) && !Files.exists(dir.resolve(OWNED))) {
      try (Stream<Path> children = Files.list(dir)) {
        if (children.findAny().isPresent()) {
          throw new IllegalArgumentException(dir + " is not empty and was not created by this demo; "
              + "give another directory as the first argument");
        }
      }
    }
    for (String sub : List.of("tree", "store", "elsewhere")) {
      deleteTree(dir.resolve(sub));
    }
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(OWNED), "created by io.lencap.samples.TreeDemo; wiped on its next run\n");
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> all = Files.walk(root)) { // never follows symlinks: deletes links, not their targets
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static long treeBytes(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      return all.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).sum();
    }
  }

  private static void report(PrintStream out, String what, List<String> differences, List<String> problems) {
    if (differences.isEmpty()) {
      return;
    }
    out.println();
    out.println(what + ": " + differences.size() + " differences" + (differences.size() > 20 ? " (first 20)" : ""));
    differences.stream().limit(20).forEach(d -> out.println("  " + d));
    problems.addAll(differences);
  }

  private static String verdict(List<String> differences) {
    return differences.isEmpty() ? "identical (walked and hashed)" : differences.size() + " DIFFERENCES";
  }

  private static String millis(Duration d) {
    return String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.2f s", d.toNanos() / 1e9);
  }

  private static String size(long bytes) {
    return bytes < 1024 * 1024 ? String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0)
        : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
  }

  /** A value and how long it took, with the engine's exception unwrapped from {@code join()}. */
  private record Timed<T>(T value, Duration took) {
    static <T> Timed<T> of(Supplier<T> action) {
      long start = System.nanoTime();
      try {
        T value = action.get();
        return new Timed<>(value, Duration.ofNanos(System.nanoTime() - start));
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    }
  }
}
