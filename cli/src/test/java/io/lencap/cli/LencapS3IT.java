package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lencap.testing.Components;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher against Ceph RGW's S3 ({@code scripts/setup/ceph.sh} writes its endpoint and keys to
 * /var/lib/lencap/ceph/s3.env): keys by environment reference, never in what the command prints.
 */
class LencapS3IT {
  static final Path ENV_FILE = Path.of(System.getProperty("lencap.ceph.env", "/var/lib/lencap/ceph/s3.env"));

  @TempDir
  Path dir;

  @Test
  void capturesListsAndVerifiesIntoS3WithKeysByReference() throws Exception {
    Components.require(Files.isReadable(ENV_FILE) ? Optional.empty()
        : Optional.of("no " + ENV_FILE + ": run scripts/setup/ceph.sh"));
    Map<String, String> s3 = new HashMap<>();
    for (String line : Files.readAllLines(ENV_FILE)) {
      int eq = line.indexOf('=');
      if (eq > 0 && !line.startsWith("#")) {
        s3.put(line.substring(0, eq).replaceFirst("^export ", ""), line.substring(eq + 1).replaceAll("^[\"']|[\"']$", ""));
      }
    }
    Path data = Files.createDirectories(dir.resolve("data"));
    Files.writeString(data.resolve("f.txt"), "to S3");
    Path spec = Files.writeString(dir.resolve("g.yaml"), "name: lencap-cli-s3\nmembers:\n  - {id: data, type: tree, "
        + "locator: \"" + data.toUri() + "\"}\n");
    Map<String, String> env = new HashMap<>();
    env.put("LENCAP_CLI_S3_ACCESS", s3.get("S3_ACCESS_KEY"));
    env.put("LENCAP_CLI_S3_SECRET", s3.get("S3_SECRET_KEY"));
    env.put("LENCAP_LOG", "debug");
    env.put("LENCAP_STORE", "s3://lencap-cli-it/" + UUID.randomUUID());
    Launcher lencap = new Launcher(env);
    String[] store = {"--store-option", "s3.endpoint=" + s3.get("S3_ENDPOINT"), "--store-option", "s3.region="
        + s3.getOrDefault("S3_REGION", "us-east-1"), "--store-secret", "s3.accessKey=env:LENCAP_CLI_S3_ACCESS",
        "--store-secret", "s3.secretKey=env:LENCAP_CLI_S3_SECRET"};
    ObjectMapper json = new ObjectMapper();
    StringBuilder seen = new StringBuilder();
    Launcher.Result captured = lencap.run(concat(new String[] {"capture", spec.toString(), "--json"}, store));
    assertEquals(0, captured.status(), captured.toString());
    Launcher.Result verified = lencap.run(concat(new String[] {"verify", "lencap-cli-s3", "--json"}, store));
    assertEquals(0, verified.status(), verified.toString());
    JsonNode report = json.readTree(verified.out());
    assertTrue(report.get("ok").asBoolean());
    assertEquals(json.readTree(captured.out()).get("id"), report.get("checkpoints").get(0));
    seen.append(captured).append(verified);
    assertFalse(seen.toString().contains(s3.get("S3_SECRET_KEY")), "the secret key showed");
    assertFalse(seen.toString().contains(s3.get("S3_ACCESS_KEY")), "the access key showed");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
