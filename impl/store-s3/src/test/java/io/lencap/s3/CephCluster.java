package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.lencap.api.Secret;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real Ceph cluster (1 monitor, 3 memstore OSDs, 3 copies, RGW) that scripts/setup/ceph.sh runs, as
 * the tests see it: its S3 endpoint and keys (from the file the script writes), its OSD processes (to
 * kill one), and the script itself (to bring a damaged cluster back). When the cluster is absent the
 * tests skip, unless {@code lencap.it.require=true}: then they fail.
 */
final class CephCluster {
  static final Path ENV_FILE = Path.of(System.getProperty("lencap.ceph.env", "/var/lib/lencap/ceph/s3.env"));
  static final Path SETUP = Path.of(System.getProperty("lencap.ceph.setup", "../../scripts/setup/ceph.sh"));
  private final Map<String, String> env;

  private CephCluster(Map<String, String> env) {
    this.env = env;
  }

  /** The running cluster; skips (or fails when integration tests are required) when there is none. */
  static CephCluster require() throws IOException {
    Optional<String> missing = absence();
    if (missing.isPresent()) {
      String why = missing.get() + ": run scripts/setup/ceph.sh (as root) to start Ceph";
      if (Boolean.getBoolean("lencap.it.require")) {
        fail(why);
      }
      Assumptions.abort(why);
    }
    return new CephCluster(read());
  }

  private static Optional<String> absence() throws IOException {
    if (!Files.isReadable(ENV_FILE)) {
      return Optional.of("no " + ENV_FILE);
    }
    String endpoint = read().get("S3_ENDPOINT");
    try {
      HttpResponse<Void> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(endpoint + "/"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200 ? Optional.empty() : Optional.of("Ceph RGW at " + endpoint + " answers " + r.statusCode());
    } catch (IOException e) {
      return Optional.of("Ceph RGW at " + endpoint + " does not answer (" + e + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private static Map<String, String> read() throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : Files.readAllLines(ENV_FILE)) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        m.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return m;
  }

  String endpoint() {
    return env.get("S3_ENDPOINT");
  }

  Map<String, String> options() {
    return Map.of("s3.endpoint", endpoint(), "s3.region", env.get("S3_REGION"));
  }

  Map<String, Secret> secrets() {
    return Map.of("s3.accessKey", Secret.of(env.get("S3_ACCESS_KEY")), "s3.secretKey", Secret.of(env.get("S3_SECRET_KEY")));
  }

  /** For child processes: the keys travel in their environment, never on a command line. */
  Map<String, String> childEnvironment() {
    return Map.of("S3_ENDPOINT", endpoint(), "S3_REGION", env.get("S3_REGION"),
        "S3_ACCESS_KEY", env.get("S3_ACCESS_KEY"), "S3_SECRET_KEY", env.get("S3_SECRET_KEY"));
  }

  /** Kills an OSD with SIGKILL (a crash: its memstore objects are gone) and waits until it has exited. */
  void killOsd(int id) throws Exception {
    long pid = Long.parseLong(Files.readString(Path.of(env.get("CEPH_RUN"), "osd." + id + ".pid")).trim());
    ProcessHandle osd = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .orElseThrow(() -> new IllegalStateException("osd." + id + " (pid " + pid + ") is not running"));
    if (!osd.info().commandLine().orElse("").contains("ceph-osd")) {
      throw new IllegalStateException("pid " + pid + " is not osd." + id);
    }
    osd.destroyForcibly();
    osd.onExit().get(60, TimeUnit.SECONDS);
  }

  /** Runs the setup script, which recreates a cluster that lost a daemon; returns the new cluster. */
  static CephCluster repair() throws Exception {
    Path log = Path.of("target", "ceph-setup.log").toAbsolutePath();
    Process p = new ProcessBuilder("bash", SETUP.toString()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail(SETUP + " did not finish within 10 minutes (see " + log + ")");
    }
    assertEquals(0, p.exitValue(), SETUP + " failed (see " + log + ")");
    return require();
  }
}
