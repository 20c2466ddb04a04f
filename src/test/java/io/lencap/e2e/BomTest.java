package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code lencap-bom} names exactly the artifacts the build publishes: a new module cannot be forgotten. */
class BomTest {
  private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
  private static final Pattern OWN_ARTIFACT = Pattern.compile("</parent>\\s*(?:<!--.*?-->\\s*)?<artifactId>([^<]+)</artifactId>",
      Pattern.DOTALL);
  private static final Pattern MANAGED = Pattern.compile("<artifactId>(lencap-[^<]+)</artifactId>");

  @Test
  void theBomListsEveryPublishedModuleAndNothingElse() throws IOException {
    Path root = ProjectRoot.find();
    Set<String> published = new TreeSet<>();
    Matcher modules = MODULE.matcher(Files.readString(root.resolve("pom.xml")));
    while (modules.find()) {
      String pom = Files.readString(root.resolve(modules.group(1)).resolve("pom.xml"));
      Matcher own = OWN_ARTIFACT.matcher(pom);
      if (own.find() && !pom.contains("<maven.deploy.skip>true</maven.deploy.skip>")) {
        published.add(own.group(1));
      }
    }
    Set<String> managed = new TreeSet<>();
    String bom = Files.readString(root.resolve("bom/pom.xml"));
    Matcher m = MANAGED.matcher(bom.substring(bom.indexOf("<dependencyManagement>")));
    while (m.find()) {
      managed.add(m.group(1));
    }
    assertEquals(published, managed);
  }
}
