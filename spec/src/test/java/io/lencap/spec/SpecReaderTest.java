package io.lencap.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpecReaderTest {
  private static final String GROUP = """
      name: job-42
      members:
        - id: scratch
          type: block
          locator: iscsi://10.0.0.5:3260/iqn.2026-11.org.example:scratch/1
          properties: {chap.user: lencap, iscsi.chunkSize: 65536}
          secrets: {chap.secret: env:SCRATCH_CHAP}
        - id: rank0
          type: vm
          locator: qemu:///system
          properties:
            domain: rank0
          dependsOn: [scratch]
      policy:
        mode: blocking
        pauseBudget: 2s
        pauseGrace: 500ms
        phaseTimeout: PT5M
        keepLast: 3
        transferConcurrency: 2
        meanTimeBetweenFailures: 1d
        onFailure: restore-in-place
        maxRestoreAttempts: 5
        restoreBackoff: 10s
        probeInterval: 1m
        failureConfirmation: 1h
      """;

  private final SpecReader reader = SpecReader.withEnvironment(Map.of("SCRATCH_CHAP", "s3cr3t-chap-value"));

  @Test
  void readsEveryFieldOfTheBuilders() {
    Encapsulation expected = Encapsulation.builder("job-42")
        .resource(Resource.builder("scratch").type("block")
            .locator("iscsi://10.0.0.5:3260/iqn.2026-11.org.example:scratch/1").property("chap.user", "lencap")
            .property("iscsi.chunkSize", "65536").secret("chap.secret", Secret.of("s3cr3t-chap-value")).build())
        .resource(Resource.builder("rank0").type("vm").locator("qemu:///system").property("domain", "rank0")
            .dependsOn("scratch").build())
        .policy(ResiliencyPolicy.builder().mode(CaptureMode.BLOCKING).pauseBudget(Duration.ofSeconds(2))
            .pauseGrace(Duration.ofMillis(500)).phaseTimeout(Duration.ofMinutes(5)).keepLast(3).transferConcurrency(2)
            .meanTimeBetweenFailures(Duration.ofDays(1)).onFailure(Reaction.RESTORE_IN_PLACE).maxRestoreAttempts(5)
            .restoreBackoff(Duration.ofSeconds(10)).probeInterval(Duration.ofMinutes(1))
            .failureConfirmation(Duration.ofHours(1)).build())
        .build();
    assertEquals(expected, reader.parse(GROUP));
  }

  @Test
  void readsJsonFilesAndDefaultsThePolicy(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("tree.json");
    Files.writeString(file, """
        {"name": "t", "members": [{"id": "data", "type": "tree", "locator": "file:///srv/data"}]}
        """);
    Encapsulation e = reader.read(file);
    assertEquals(ResiliencyPolicy.defaults(), e.policy());
    assertEquals("file:///srv/data", e.resource("data").orElseThrow().locator().toString());
  }

  @Test
  void readsASecretFromAFileRelativeToTheSpecWithoutItsNewline(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("chap"), "from-a-file\n");
    Path spec = dir.resolve("g.yaml");
    Files.writeString(spec, GROUP.replace("env:SCRATCH_CHAP", "file:chap"));
    assertEquals(Secret.of("from-a-file"), reader.read(spec).resource("scratch").orElseThrow()
        .secret("chap.secret").orElseThrow());
    Files.writeString(spec, GROUP.replace("env:SCRATCH_CHAP", "file:" + dir.resolve("chap")));
    assertEquals(Secret.of("from-a-file"), reader.read(spec).resource("scratch").orElseThrow()
        .secret("chap.secret").orElseThrow());
  }

  @Test
  void anInlineSecretIsRefusedWithoutRepeatingIt() {
    var e = fails(GROUP.replace("env:SCRATCH_CHAP", "hunter2-inline"));
    assertEquals("members[0].secrets.chap.secret", e.field());
    assertTrue(e.getMessage().contains("env:NAME or file:/path"), e.getMessage());
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    assertEquals("members[0].secrets.chap.secret", fails(GROUP.replace("env:SCRATCH_CHAP", "42")).field());
  }

  @Test
  void aMissingEnvironmentVariableOrFileIsNamed(@TempDir Path dir) {
    var e = assertThrows(InvalidSpecException.class, () -> SpecReader.withEnvironment(Map.of()).parse(GROUP));
    assertEquals("members[0].secrets.chap.secret: environment variable SCRATCH_CHAP is not set or empty; "
        + "export it before running", e.getMessage());
    var f = fails(GROUP.replace("env:SCRATCH_CHAP", "file:" + dir.resolve("absent")));
    assertTrue(f.getMessage().startsWith("members[0].secrets.chap.secret: no such file "), f.getMessage());
    assertEquals("members[0].secrets.chap.secret", fails(GROUP.replace("env:SCRATCH_CHAP", "env:1BAD")).field());
  }

  @Test
  void aMissingSpecFileSaysSo(@TempDir Path dir) {
    var e = assertThrows(InvalidSpecException.class, () -> reader.read(dir.resolve("nope.yaml")));
    assertEquals("spec", e.field());
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      // what is wrong | text replaced | replacement | field named
      "unknown top field | 'policy:' | 'polcy:' | polcy",
      "no name | 'name: job-42' | 'title: x' | title",
      "bad name | 'name: job-42' | 'name: ../etc' | name",
      "no members | 'members:' | 'others:' | others",
      "unknown member field | '    locator: qemu:///system' | '    locaton: qemu:///system' | members[1].locaton",
      "missing locator | '    locator: qemu:///system' | '    # no locator' | members[1].locator",
      "relative locator | '    locator: qemu:///system' | '    locator: system' | members[1].locator",
      "not a URI | '    locator: qemu:///system' | '    locator: \"qemu:// bad\"' | members[1].locator",
      "unknown type | '    type: vm' | '    type: container' | members[1].type",
      "bad id | '  - id: rank0' | '  - id: \"rank 0\"' | members[1].id",
      "unknown dependency | '[scratch]' | '[nas]' | members[1].dependsOn",
      "self dependency | '[scratch]' | '[rank0]' | members[1].dependsOn",
      "list as property | '      domain: rank0' | '      domain: [a, b]' | members[1].properties.domain",
      "properties not a mapping | '    properties:\n      domain: rank0' | '    properties: [domain]' | "
          + "members[1].properties",
      "unknown policy field | '  keepLast: 3' | '  keepLatest: 3' | policy.keepLatest",
      "negative keepLast | '  keepLast: 3' | '  keepLast: -1' | policy.keepLast",
      "fractional keepLast | '  keepLast: 3' | '  keepLast: 2.5' | policy.keepLast",
      "zero budget | '  pauseBudget: 2s' | '  pauseBudget: 0s' | policy.pauseBudget",
      "unitless budget | '  pauseBudget: 2s' | '  pauseBudget: 2' | policy.pauseBudget",
      "unknown mode | '  mode: blocking' | '  mode: lazy' | policy.mode",
      "interval and MTBF | '  meanTimeBetweenFailures: 1d' | '  meanTimeBetweenFailures: 1d\n  checkpointInterval: 1h'"
          + " | policy.checkpointInterval",
      "duplicate key | '  keepLast: 3' | '  keepLast: 3\n  keepLast: 4' | spec",
      "YAML syntax | '    properties:' | '    properties: {' | spec",
  })
  void eachErrorNamesTheFieldPath(String what, String from, String to, String field) {
    String text = GROUP.replace(from.replace("\\n", "\n"), to.replace("\\n", "\n"));
    assertFalse(text.equals(GROUP), "the case changes the spec: " + what);
    var e = fails(text);
    assertEquals(field, e.field(), what + ": " + e.getMessage());
    assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
  }

  @Test
  void aDuplicateIdNamesTheSecondMember() {
    var e = fails(GROUP.replace("  - id: rank0", "  - id: scratch").replace("    dependsOn: [scratch]\n", ""));
    assertEquals("members[1].id: duplicate resource id 'scratch'", e.getMessage());
  }

  @Test
  void aSyntaxErrorSaysWhereWithoutQuotingTheFile() {
    var e = fails(GROUP.replace("    properties:\n      domain: rank0", "    properties: {domain: [rank0"));
    assertTrue(e.getMessage().matches("spec: not valid YAML at line \\d+, column \\d+: .*"), e.getMessage());
    assertFalse(e.getMessage().contains("iqn.2026"), e.getMessage());
  }

  @Test
  void emptyAndScalarDocumentsAreRefused() {
    assertEquals("spec", fails("").field());
    assertEquals("spec", fails("just text").field());
    assertEquals("members", fails("name: x\nmembers: []").field());
    assertEquals("members", fails("name: x\nmembers: {a: 1}").field());
    assertEquals("members[0]", fails("name: x\nmembers: [3]").field());
    assertEquals("policy", fails("name: x\nmembers: [{id: a, type: tree, locator: 'file:///a'}]\npolicy: 3").field());
  }

  private InvalidSpecException fails(String text) {
    return assertThrows(InvalidSpecException.class, () -> reader.parse(text));
  }
}
