package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands in this JVM against a local store and a local tree: the JSON shapes, the exit statuses and the
 * one-line errors. {@code LencapLauncherIT} runs the same through the launcher script as a process.
 */
class LencapCliTest {
  @TempDir
  Path dir;

  final Map<String, String> env = new HashMap<>();
  final ObjectMapper json = new ObjectMapper();
  String out;
  String err;

  @BeforeEach
  void tree() throws IOException {
    Files.createDirectories(dir.resolve("data/sub"));
    Files.writeString(dir.resolve("data/a.txt"), "hello");
    Files.write(dir.resolve("data/sub/b.bin"), new byte[100_000]);
    Files.writeString(dir.resolve("g.yaml"), "name: lencap-cli-unit\nmembers:\n  - id: data\n    type: tree\n"
        + "    locator: " + dir.resolve("data").toUri() + "\npolicy: {pauseBudget: 10s}\n");
    env.put("LENCAP_STORE", dir.resolve("store").toString());
  }

  int run(String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int status = LencapCli.run(args, env, new PrintWriter(o), new PrintWriter(e), false);
    out = o.toString();
    err = e.toString();
    return status;
  }

  JsonNode runJson(String... args) throws IOException {
    assertEquals(0, run(args), err);
    return json.readTree(out);
  }

  @Test
  void captureListShowDiffInJson() throws IOException {
    JsonNode first = runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    assertEquals("lencap-cli-unit", first.get("encapsulation").asText());
    assertTrue(first.get("parent").isNull());
    assertEquals("data", first.get("members").get(0).get("id").asText());
    assertEquals("tree", first.get("members").get(0).get("type").asText());
    Files.writeString(dir.resolve("data/a.txt"), "hello, again");
    JsonNode second = runJson("--json", "capture", dir.resolve("g.yaml").toString());
    JsonNode list = runJson("list", "--json");
    assertEquals(2, list.get("checkpoints").size());
    assertEquals(first.get("id"), list.get("checkpoints").get(0).get("id"));
    JsonNode show = runJson("show", "lencap-cli-unit/latest", "--json");
    assertEquals(second.get("id"), show.get("id"));
    assertEquals(first.get("id").asText(), show.get("chain").get(0).asText());
    JsonNode diff = runJson("diff", first.get("id").asText(), second.get("id").asText(), "--json");
    JsonNode changes = diff.get("members").get(0).get("changes");
    assertEquals(1, changes.size(), diff.toString());
    assertEquals("a.txt", changes.get(0).get("path").asText());
    assertEquals("changed", changes.get(0).get("kind").asText());
    assertEquals(12, diff.get("members").get(0).get("changedBytes").asLong());
  }

  @Test
  void restoreInPlaceAndElsewhere() throws IOException {
    JsonNode cp = runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    Files.writeString(dir.resolve("data/a.txt"), "damaged");
    assertEquals(0, run("restore", dir.resolve("g.yaml").toString(), "latest"), err);
    assertEquals("hello", Files.readString(dir.resolve("data/a.txt")));
    Path copy = dir.resolve("copy");
    JsonNode restored = runJson("restore", dir.resolve("g.yaml").toString(), cp.get("id").asText(), "--place",
        "data=" + copy.toUri(), "--json");
    assertEquals(cp.get("id"), restored.get("restored"));
    assertEquals("hello", Files.readString(copy.resolve("a.txt")));
  }

  @Test
  void aFlippedByteMakesVerifyExitCorruptNamingTheChunk() throws IOException {
    runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    assertEquals(0, run("verify"), err);
    // The largest object: a chunk stored alone, or a pack of small chunks.
    Path object = StoredObjects.of(dir.resolve("store")).stream()
        .max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
    byte[] bytes = Files.readAllBytes(object);
    bytes[bytes.length / 2] ^= 0x40;
    Files.write(object, bytes);
    assertEquals(ExitStatus.CORRUPT.code, run("verify", "--json"));
    JsonNode report = json.readTree(out);
    assertFalse(report.get("ok").asBoolean());
    String chunk = report.get("problems").get(0).get("chunk").asText();
    assertTrue(chunk.matches("[0-9a-f]{64}"), chunk);
    if (StoredObjects.isWholeChunk(object)) {
      assertEquals(object.getFileName().toString(), chunk);
    }
    assertEquals(ExitStatus.CORRUPT.code, run("verify", "lencap-cli-unit"));
    assertTrue(out.contains("chunk " + chunk), out);
    String last = err.lines().reduce((a, b) -> b).orElse("");
    assertTrue(last.startsWith("lencap: corrupt: ") && last.contains("chunk " + chunk), err);
  }

  @Test
  void eachErrorHasItsStatusAndOneLineSayingWhatToDo() throws IOException {
    assertEquals(ExitStatus.NOT_FOUND.code, run("list"));
    assertEquals("lencap: not-found: no store at " + dir.resolve("store") + "; check --store or LENCAP_STORE (run "
        + "`lencap list` to see the groups and checkpoints in the store)\n", err);
    runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    assertEquals(ExitStatus.NOT_FOUND.code, run("show", "20990101T000000.000Z-0000"));
    assertEquals(ExitStatus.NOT_FOUND.code, run("list", "other-group"));
    Files.writeString(dir.resolve("bad.yaml"), "name: x\nmembers:\n  - id: data\n    type: tree\n    locator: data\n");
    assertEquals(ExitStatus.INVALID_SPEC.code, run("capture", dir.resolve("bad.yaml").toString()));
    assertTrue(err.startsWith("lencap: invalid-spec: members[0].locator: 'data' must be an absolute URI"), err);
    assertEquals(1, err.lines().count(), err);
    assertEquals(ExitStatus.INVALID_SPEC.code, run("capture", dir.resolve("none.yaml").toString()));
    assertEquals(ExitStatus.USAGE.code, run("frobnicate"));
    assertEquals(ExitStatus.USAGE.code, run("show"));
    env.remove("LENCAP_STORE");
    assertEquals(ExitStatus.INVALID_SPEC.code, run("list"));
    assertTrue(err.contains("pass --store URI or set LENCAP_STORE"), err);
  }

  @Test
  void aSecretIsNeverTakenAsAValueNorEchoed() {
    assertEquals(ExitStatus.INVALID_SPEC.code, run("--store-secret", "encryption.key=hunter2-plain", "list",
        "--store", dir.toString()));
    assertTrue(err.contains("env:NAME or file:/path"), err);
    assertFalse((out + err).contains("hunter2"), out + err);
  }

  @Test
  void protectPrintsItsEventsAndStopsWhenAsked() throws IOException {
    Files.writeString(dir.resolve("g.yaml"), Files.readString(dir.resolve("g.yaml")).replace("policy: {pauseBudget: 10s}",
        "policy: {pauseBudget: 10s, checkpointInterval: 1s}"));
    assertEquals(0, run("protect", dir.resolve("g.yaml").toString(), "--for", "4", "--json"), err);
    List<JsonNode> events = new ArrayList<>();
    for (String line : out.lines().toList()) {
      events.add(json.readTree(line));
    }
    assertEquals("protecting", events.get(0).get("event").asText());
    assertEquals("stopped", events.get(events.size() - 1).get("event").asText(), out);
    List<String> names = events.stream().map(e -> e.get("event").asText()).toList();
    assertTrue(names.contains("stopping"), out);
    // Between the two, only the end of a capture the stop met: cancelled, or committed just before.
    for (JsonNode e : events.subList(names.indexOf("stopping") + 1, events.size() - 1)) {
      String what = e.get("event").asText();
      assertTrue(what.equals("committed") || what.equals("phase-failed")
          && e.get("detail").asText().contains("CancellationException"), out);
      assertFalse(e.get("detail").asText().startsWith("null "), out);
    }
    assertTrue(events.stream().anyMatch(e -> e.get("event").asText().equals("committed")), out);
    assertTrue(runJson("list", "--json").get("checkpoints").size() >= 1);
  }

  @Test
  void timelineWritesTheStoredFiguresAsSvg() throws IOException {
    JsonNode cp = runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    Path svg = dir.resolve("t.svg");
    JsonNode written = runJson("timeline", cp.get("id").asText(), "-o", svg.toString(), "--json");
    assertEquals(svg.toString(), written.get("file").asText());
    String text = Files.readString(svg);
    assertTrue(text.startsWith("<svg") && text.contains("data"), text);
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void gcSaysWhatItDeletedAndKeptInFieldsNamedSo() throws IOException {
    runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    JsonNode gc = runJson("gc", "--json");
    assertEquals(List.of("ran", "chunksDeleted", "chunksKeptLocked", "lockedUntil"), fieldNames(gc), out);
    assertTrue(gc.get("ran").asBoolean());
    assertEquals(0, gc.get("chunksKeptLocked").asInt());
    assertTrue(gc.get("lockedUntil").isNull(), "no locked chunk: lockedUntil is null, as other absent values are");
  }

  @Test
  void aDrillRestoresIntoTheSandboxChecksAndRemovesIt() throws IOException {
    runJson("capture", dir.resolve("g.yaml").toString(), "--json");
    Path sandbox = dir.resolve("sandbox");
    JsonNode report = runJson("drill", dir.resolve("g.yaml").toString(), "--sandbox", sandbox.toString(), "--check",
        "cmp \"${LENCAP_DRILL_DATA_LOCATOR#file://}/a.txt\" " + dir.resolve("data/a.txt"), "--json");
    assertTrue(report.get("passed").asBoolean(), out);
    assertEquals(0, report.get("check").get("status").asInt(), out);
    assertTrue(report.get("removed").asBoolean());
    JsonNode member = report.get("members").get(0);
    assertEquals(List.of("id", "passed", "restoreMillis", "probeMillis", "detail"), fieldNames(member), out);
    assertFalse(Files.exists(sandbox));
    assertEquals(ExitStatus.DRILL_FAILED.code, run("drill", dir.resolve("g.yaml").toString(), "--sandbox",
        sandbox.toString(), "--check", "exit 3"));
    assertTrue(out.contains("FAIL check `exit 3` exit 3"), out);
    assertFalse(Files.exists(sandbox), "removed after a failure too");
    Files.createDirectories(sandbox.resolve("something"));
    assertEquals(ExitStatus.INVALID_SPEC.code, run("drill", dir.resolve("g.yaml").toString(), "--sandbox",
        sandbox.toString()));
    assertTrue(err.startsWith("lencap: invalid-spec: --sandbox: "), err);
    assertTrue(Files.exists(sandbox.resolve("something")), "a directory it did not make is left alone");
  }

  @Test
  void aSandboxRenamesVmsMovesTreesAndRefusesWhatItCannotRemove() {
    var group = io.lencap.api.Encapsulation.builder("g")
        .resource(io.lencap.api.Resource.builder("vm").type("vm").locator("qemu:///system").property("domain", "rank0")
            .build())
        .resource(io.lencap.api.Resource.of("data", io.lencap.api.ResourceType.FILE_TREE, "file:///srv/data")).build();
    var placed = DrillCommand.sandboxOf(group, Path.of("/sb"), "drill-1", Map.of());
    assertEquals(Map.of("domain", "rank0-drill-1", "restore.directory", "/sb/vm"), placed.get("vm").properties());
    assertEquals("file:///sb/data", placed.get("data").locator().toString());
    var lun = io.lencap.api.Encapsulation.builder("g").resource(io.lencap.api.Resource.of("scratch",
        io.lencap.api.ResourceType.BLOCK_VOLUME, "iscsi://127.0.0.1:3260/iqn.2026-11.io.lencap:x/0")).build();
    var e = org.junit.jupiter.api.Assertions.assertThrows(io.lencap.api.InvalidSpecException.class,
        () -> DrillCommand.sandboxOf(lun, Path.of("/sb"), "drill-1", Map.of()));
    assertEquals("members[scratch]", e.field());
    assertTrue(e.getMessage().contains("--place scratch=LOCATOR"), e.getMessage());
    var other = DrillCommand.sandboxOf(lun, Path.of("/sb"), "drill-1",
        Map.of("scratch", "iscsi://127.0.0.1:3260/iqn.2026-11.io.lencap:x/1"));
    assertEquals("iscsi://127.0.0.1:3260/iqn.2026-11.io.lencap:x/1", other.get("scratch").locator().toString());
  }

  @Test
  void placementsNameTheBadOption() {
    var e = org.junit.jupiter.api.Assertions.assertThrows(io.lencap.api.InvalidSpecException.class,
        () -> RestoreCommand.placement(Map.of("data", "file:///x"), Map.of("other.k", "v")));
    assertEquals("--place-property other.k", e.field());
    var f = org.junit.jupiter.api.Assertions.assertThrows(io.lencap.api.InvalidSpecException.class,
        () -> RestoreCommand.placement(Map.of("data", "relative/path"), Map.of()));
    assertEquals("placement[data].locator", f.field());
  }
}
