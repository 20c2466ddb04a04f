package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script and the fat jar as an operator runs them: a tree captured and restored from a YAML spec,
 * the JSON of list/show/diff/verify, a flipped byte in a stored chunk, each error's exit status and line, and
 * secrets given by file or environment that never show in what the command prints or logs.
 */
class LencapLauncherIT {
  @TempDir
  Path dir;

  final ObjectMapper json = new ObjectMapper();
  final Map<String, String> env = new HashMap<>();
  Path spec;
  Path data;

  @BeforeEach
  void tree() throws IOException {
    data = dir.resolve("data");
    Files.createDirectories(data.resolve("logs"));
    Random random = new Random(17);
    for (int i = 0; i < 20; i++) {
      byte[] b = new byte[4096 + random.nextInt(60_000)];
      random.nextBytes(b);
      Files.write(data.resolve("logs/part-" + i + ".bin"), b);
    }
    Files.writeString(data.resolve("state.txt"), "step 1\n");
    spec = dir.resolve("job.yaml");
    Files.writeString(spec, """
        name: lencap-cli-job
        members:
          - id: data
            type: tree
            locator: %s
        policy:
          pauseBudget: 10s
          keepLast: 5
        """.formatted(data.toUri()));
    env.put("LENCAP_STORE", dir.resolve("store").toString());
  }

  JsonNode ok(Launcher.Result r) throws IOException {
    assertEquals(0, r.status(), r.toString());
    return json.readTree(r.out());
  }

  @Test
  void capturesRestoresAndInspectsATreeFromAYamlSpec() throws Exception {
    Launcher lencap = new Launcher(env);
    JsonNode first = ok(lencap.run("capture", spec.toString(), "--json"));
    Files.writeString(data.resolve("state.txt"), "step 2\n");
    Files.delete(data.resolve("logs/part-3.bin"));
    Files.writeString(data.resolve("logs/new.txt"), "new");
    Launcher.Result human = lencap.run("capture", spec.toString(), "--timeline", dir.resolve("t.svg").toString());
    assertEquals(0, human.status(), human.toString());
    assertTrue(human.out().startsWith("checkpoint "), human.out());
    assertTrue(Files.readString(dir.resolve("t.svg")).startsWith("<svg"));

    JsonNode list = ok(lencap.run("list", "lencap-cli-job", "--json"));
    assertEquals(2, list.get("checkpoints").size());
    String a = list.get("checkpoints").get(0).get("id").asText();
    String b = list.get("checkpoints").get(1).get("id").asText();
    assertEquals(first.get("id").asText(), a);

    JsonNode show = ok(lencap.run("show", b, "--json"));
    assertEquals(a, show.get("parent").asText());
    assertEquals(a, show.get("chain").get(0).asText());
    JsonNode member = show.get("members").get(0);
    assertEquals("local-directory", member.get("provider").asText());
    assertTrue(member.get("logicalBytes").asLong() > 80_000, member.toString());
    assertTrue(show.get("storedBytes").asLong() < first.get("storedBytes").asLong(), "incremental: " + show);

    JsonNode diff = ok(lencap.run("diff", a, b, "--json"));
    Map<String, String> kinds = new HashMap<>();
    diff.get("members").get(0).get("changes").forEach(c -> kinds.put(c.get("path").asText(), c.get("kind").asText()));
    assertEquals("changed", kinds.get("state.txt"), diff.toString());
    assertEquals("removed", kinds.get("logs/part-3.bin"), diff.toString());
    assertEquals("added", kinds.get("logs/new.txt"), diff.toString());

    JsonNode verify = ok(lencap.run("verify", "--json"));
    assertTrue(verify.get("ok").asBoolean());
    assertEquals(2, verify.get("checkpoints").size());
    assertTrue(verify.get("chunksChecked").asLong() >= 20, verify.toString());

    Files.writeString(data.resolve("state.txt"), "damaged\n");
    Files.delete(data.resolve("logs/part-7.bin"));
    JsonNode restored = ok(lencap.run("restore", spec.toString(), a, "--json"));
    assertEquals(a, restored.get("restored").asText());
    assertEquals("step 1\n", Files.readString(data.resolve("state.txt")));
    assertTrue(Files.exists(data.resolve("logs/part-3.bin")) && Files.exists(data.resolve("logs/part-7.bin")));
    assertFalse(Files.exists(data.resolve("logs/new.txt")));

    Path elsewhere = dir.resolve("elsewhere");
    ok(lencap.run("restore", spec.toString(), "latest", "--place", "data=" + elsewhere.toUri(), "--json"));
    assertEquals("step 2\n", Files.readString(elsewhere.resolve("state.txt")));
    assertEquals("step 1\n", Files.readString(data.resolve("state.txt")), "the original stays as it was");

    JsonNode deleted = ok(lencap.run("delete", "lencap-cli-job/" + a, "--json"));
    assertEquals(a, deleted.get("deleted").get(0).asText());
    assertEquals(1, ok(lencap.run("list", "--json")).get("checkpoints").size());
    assertTrue(ok(lencap.run("gc", "--json")).has("chunksDeleted"));
  }

  @Test
  void aFlippedByteInAStoredChunkMakesVerifyExitCorruptNamingTheChunk() throws Exception {
    Launcher lencap = new Launcher(env);
    ok(lencap.run("capture", spec.toString(), "--json"));
    // The first object: a chunk stored alone, or a pack of small chunks (a flipped last byte: its last).
    Path object = StoredObjects.of(dir.resolve("store")).get(0);
    byte[] bytes = Files.readAllBytes(object);
    bytes[bytes.length - 1] ^= 1;
    Files.write(object, bytes);
    Launcher.Result r = lencap.run("verify", "lencap-cli-job", "--json");
    assertEquals(5, r.status(), r.toString());
    JsonNode report = json.readTree(r.out());
    String chunk = report.get("problems").get(0).get("chunk").asText();
    assertTrue(chunk.matches("[0-9a-f]{64}"), r.toString());
    if (StoredObjects.isWholeChunk(object)) {
      assertEquals(object.getFileName().toString(), chunk, r.toString());
    }
    assertTrue(r.err().lines().anyMatch(l -> l.startsWith("lencap: corrupt: ") && l.contains(chunk)), r.toString());
    Launcher.Result restore = lencap.run("restore", spec.toString(), "latest");
    assertEquals(5, restore.status(), restore.toString());
    assertTrue(restore.err().contains("chunk " + chunk), restore.toString());
  }

  @Test
  void theFirstRunArchivesTheClassesItLoadedAndLaterRunsMapThem() throws Exception {
    Path cds = dir.resolve("cds");
    Path loads = dir.resolve("loads.txt");
    env.put("LENCAP_CDS_DIR", cds.toString());
    Launcher lencap = new Launcher(env);
    Launcher.Result first = lencap.run("--help");
    assertEquals(0, first.status(), first.toString());
    try (Stream<Path> files = Files.list(cds)) {
      assertEquals(java.util.List.of("jsa"), files.map(f -> f.getFileName().toString())
          .map(n -> n.substring(n.lastIndexOf('.') + 1)).toList(), "one archive, no half-written one left");
    }
    env.put("LENCAP_JAVA_OPTS", "-Xlog:class+load=info:file=" + loads);
    Launcher.Result second = new Launcher(env).run("--help");
    assertEquals(first.out(), second.out());
    assertEquals("", second.err());
    String loaded = Files.readString(loads);
    assertTrue(loaded.contains("io.lencap.cli.LencapCli source: shared objects file (top)"),
        "the command's own classes come from the archive");

    env.put("LENCAP_CDS", "off");
    Files.delete(loads);
    assertEquals(first.out(), new Launcher(env).run("--help").out());
    assertFalse(Files.readString(loads).contains("shared objects file (top)"), "LENCAP_CDS=off maps no archive");
  }

  @Test
  void eachErrorExitsWithItsStatusAndOneLine() throws Exception {
    Launcher lencap = new Launcher(env);
    expect(lencap.run("list"), 3, "lencap: not-found: no store at ");
    ok(lencap.run("capture", spec.toString(), "--json"));
    expect(lencap.run("show", "lencap-cli-job/20990101T000000.000Z-0000"), 3, "lencap: not-found: no checkpoint");
    expect(lencap.run("restore", spec.toString(), "20990101T000000.000Z-0000"), 3, "lencap: not-found: ");
    Files.writeString(dir.resolve("bad.yaml"), Files.readString(spec).replace("locator:", "locaton:"));
    expect(lencap.run("capture", dir.resolve("bad.yaml").toString()), 4,
        "lencap: invalid-spec: members[0].locaton: unknown field");
    Files.writeString(dir.resolve("cycle.yaml"), """
        name: lencap-cli-cycle
        members:
          - {id: a, type: tree, locator: "file:///tmp/a", dependsOn: [b]}
          - {id: b, type: tree, locator: "file:///tmp/b", dependsOn: [a]}
        """);
    expect(lencap.run("capture", dir.resolve("cycle.yaml").toString()), 4, "lencap: invalid-spec: members[");
    Files.writeString(dir.resolve("absent.yaml"), Files.readString(spec).replace(data.toUri().toString(),
        dir.resolve("no-such-dir").toUri().toString()));
    Launcher.Result aborted = lencap.run("capture", dir.resolve("absent.yaml").toString());
    assertTrue(aborted.status() == 7 || aborted.status() == 3, aborted.toString());
    assertEquals(1, aborted.err().lines().filter(l -> l.startsWith("lencap: ")).count(), aborted.toString());
    Path notADirectory = Files.writeString(dir.resolve("plain-file"), "x");
    expect(lencap.run("list", "--store", notADirectory.toString()), 3, "lencap: not-found: no store at ");
    expect(lencap.run("capture"), 2, "Missing required parameter: 'SPEC'");
    expect(lencap.run("frobnicate"), 2, "Unmatched argument at index 0: 'frobnicate'");
    Map<String, String> none = new HashMap<>(env);
    none.remove("LENCAP_STORE");
    expect(new Launcher(none).run("list"), 4, "lencap: invalid-spec: --store: no store given");
    Launcher.Result help = lencap.run("--help");
    assertEquals(0, help.status());
    assertTrue(help.out().contains("Exit status:") && help.out().contains("5   corrupt"), help.out());
    Launcher.Result completion = lencap.run("generate-completion");
    assertEquals(0, completion.status(), completion.toString());
    assertTrue(completion.out().contains("complete -F _complete_lencap"), completion.out());
  }

  @Test
  void secretsByFileOrEnvironmentNeverShowInOutputOrLogs() throws Exception {
    byte[] key = new byte[32];
    new Random(3).nextBytes(key);
    String storeKey = Base64.getEncoder().encodeToString(key);
    String memberSecret = "lencap-cli-member-secret-5f3a";
    Path keyFile = Files.writeString(dir.resolve("store.key"), storeKey + "\n");
    Files.writeString(spec, Files.readString(spec).replace("    type: tree\n",
        "    type: tree\n    secrets: {token: env:LENCAP_CLI_IT_TOKEN}\n"));
    env.put("LENCAP_CLI_IT_TOKEN", memberSecret);
    env.put("LENCAP_LOG", "debug"); // the engine's whole log goes to standard error
    Launcher lencap = new Launcher(env);
    String[] keyByFile = {"--store-secret", "encryption.key=file:" + keyFile};
    StringBuilder seen = new StringBuilder();
    for (String[] args : new String[][] {{"capture", spec.toString()}, {"capture", spec.toString(), "--json"},
        {"list"}, {"verify", "--json"}, {"show", "lencap-cli-job/latest"}, {"restore", spec.toString(), "latest"}}) {
      String[] all = Stream.concat(Stream.of(args), Stream.of(keyByFile)).toArray(String[]::new);
      Launcher.Result r = lencap.run(all);
      assertEquals(0, r.status(), r.toString());
      seen.append(r.out()).append(r.err());
      assertFalse(String.join(" ", all).contains(storeKey) || String.join(" ", all).contains(memberSecret),
          "the command line (what ps shows) holds only references");
    }
    assertTrue(seen.toString().contains("DEBUG"), "the engine's debug log was captured too");
    assertFalse(seen.toString().contains(storeKey), "the store key showed");
    assertFalse(seen.toString().contains(memberSecret), "the member's secret showed");
    Launcher.Result wrongKey = lencap.run("list", "--store-secret", "encryption.key=env:LENCAP_CLI_IT_TOKEN");
    assertFalse((wrongKey.out() + wrongKey.err()).contains(memberSecret), wrongKey.toString());
    Launcher.Result inline = lencap.run("list", "--store-secret", "encryption.key=" + storeKey);
    assertEquals(4, inline.status(), inline.toString());
    assertFalse((inline.out() + inline.err()).contains(storeKey), inline.toString());
  }

  private static void expect(Launcher.Result r, int status, String start) {
    assertEquals(status, r.status(), r.toString());
    String line = r.err().lines().filter(l -> !l.startsWith("Usage:") && !l.isBlank()).findFirst().orElse("");
    assertTrue(line.startsWith(start), "expected a line starting with '" + start + "'\n" + r);
  }
}
