package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandSnapshotTest {
  @TempDir
  Path dir;
  final CommandSnapshot snapshots = new CommandSnapshot();

  Path script(String body) throws IOException {
    Path s = dir.resolve("snap.sh");
    Files.writeString(s, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rwx------"));
    return s;
  }

  Resource lun(Path command, String... more) {
    Resource.Builder b = Resource.builder("lun").type("block").locator("iscsi://gw:3260/iqn.x:y/1")
        .property(CommandSnapshot.COMMAND, command.toString()).property("rbd.image", "pool/img")
        .secret("chap.secret", Secret.of("never-shown"));
    for (int i = 0; i < more.length; i += 2) {
      b.property(more[i], more[i + 1]);
    }
    return b.build();
  }

  @Test
  void takeRunsTheCommandWithTheResourceAndReturnsTheLastLinePrinted() throws Exception {
    Path log = dir.resolve("calls");
    Path s = script("echo \"$1 $2 $3 $LENCAP_PROPERTY_RBD_IMAGE ${LENCAP_SECRET_CHAP_SECRET:-no-secret}\" >> " + log
        + "\necho 'snapshot created'\necho \"iscsi://gw:3260/iqn.x:y/7\"");
    assertEquals(URI.create("iscsi://gw:3260/iqn.x:y/7"), snapshots.take(lun(s), "lencap-cp1"));
    snapshots.delete(lun(s), "lencap-cp1");
    assertEquals("take iscsi://gw:3260/iqn.x:y/1 lencap-cp1 pool/img no-secret\n"
        + "delete iscsi://gw:3260/iqn.x:y/1 lencap-cp1 pool/img no-secret\n", Files.readString(log));
    String env = String.join(" ", Files.readAllLines(log));
    assertFalse(env.contains("never-shown"), "secrets stay out of the command's environment");
  }

  @Test
  void aTimedOutCommandIsKilledWithEveryProcessItStarted() throws Exception {
    Path pid = dir.resolve("child.pid");
    Path s = script("sleep 600 &\necho $! > " + pid + "\nwait");
    assertThrows(IOException.class, () -> snapshots.take(lun(s, CommandSnapshot.TIMEOUT, "1"), "lencap-cp1"));
    ProcessHandle child = ProcessHandle.of(Long.parseLong(Files.readString(pid).strip())).orElse(null);
    if (child != null) {
      child.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS); // killed: it exits, or the wait fails
    }
  }

  @Test
  void theCommandSeesAMinimalEnvironment() throws Exception {
    String leaked = System.getenv().keySet().stream()
        .filter(k -> !k.equals("PATH") && !k.equals("LANG") && !k.equals("PWD") && !k.equals("SHLVL") && !k.equals("_"))
        .findFirst().orElseThrow(() -> new AssertionError("the test JVM has no environment to leak"));
    Path env = dir.resolve("env");
    Path s = script("env > " + env + "\necho iscsi://gw:3260/iqn.x:y/7");
    snapshots.take(lun(s), "lencap-cp1");
    assertFalse(Files.readString(env).contains(leaked + "="), leaked + " leaked into the command's environment");
  }

  @Test
  void aRelativeCommandIsRefusedNamingTheField() throws Exception {
    script("true");
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> snapshots.take(lun(Path.of("snap.sh")), "lencap-cp1"));
    assertTrue(e.getMessage().contains("snapshot.command"), e.getMessage());
  }

  @Test
  void aFailedTakeIsFollowedByADeleteOfTheSameName() throws Exception {
    Path deleted = dir.resolve("deleted");
    Path s = script("if [ \"$1\" = delete ]; then echo \"$3\" >> " + deleted + "; exit 0; fi\nexit 5");
    assertThrows(IOException.class, () -> snapshots.take(lun(s), "lencap-cp9"));
    assertEquals("lencap-cp9\n", Files.readString(deleted));
  }

  @Test
  void onlyResourcesNamingACommandAreSupported() throws Exception {
    assertTrue(snapshots.supports(lun(script("true"))));
    assertFalse(snapshots.supports(Resource.builder("lun").type("block").locator("iscsi://gw/iqn.x:y/1").build()));
  }

  @Test
  void aFailingCommandFailsWithItsStatusAndTheEndOfItsErrors() throws Exception {
    Path s = script("echo 'pool is full' >&2\nexit 3");
    IOException e = assertThrows(IOException.class, () -> snapshots.take(lun(s), "lencap-cp1"));
    assertTrue(e.getMessage().contains("status 3") && e.getMessage().contains("pool is full"), e.getMessage());
  }

  @Test
  void outputThatIsNotALocatorOfTheResourceSchemeIsRefused() throws Exception {
    Path s = script("echo 'nfs://filer/vol/.snapshot/x'");
    IOException e = assertThrows(IOException.class, () -> snapshots.take(lun(s), "lencap-cp1"));
    assertTrue(e.getMessage().contains("nfs://filer/vol/.snapshot/x"), e.getMessage());
  }

  @Test
  void aCommandThatHangsIsStoppedAtItsTimeLimit() throws Exception {
    Path s = script("exec sleep 600");
    long t = System.nanoTime();
    IOException e = assertThrows(IOException.class,
        () -> snapshots.take(lun(s, CommandSnapshot.TIMEOUT, "1"), "lencap-cp1"));
    assertTrue(e.getMessage().contains("did not finish in 1 s"), e.getMessage());
    assertTrue(System.nanoTime() - t < 30_000_000_000L, "stopped at the limit, not at the command's end");
  }

  @Test
  void aBadTimeLimitNamesTheField() throws Exception {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> snapshots.take(lun(script("true"), CommandSnapshot.TIMEOUT, "soon"), "lencap-cp1"));
    assertEquals("resources[lun].properties." + CommandSnapshot.TIMEOUT, e.field());
  }
}
