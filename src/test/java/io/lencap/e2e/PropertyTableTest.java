package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.spi.PropertySpec;
import io.lencap.spi.ResourceProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * The README's table of member properties is what the providers declare ({@link ResourceProvider#properties}):
 * a property added, renamed or given another default in code fails here until the README says the same. On a
 * failure, the message holds the table to paste.
 */
class PropertyTableTest {
  static final String BEGIN = "<!-- member properties: generated from ResourceProvider.properties(), checked by "
      + "PropertyTableTest -->";
  static final String END = "<!-- end of member properties -->";

  @Test
  void theReadmeListsWhatTheProvidersDeclare() throws IOException {
    String readme = Files.readString(ProjectRoot.find().resolve("README.md"));
    int from = readme.indexOf(BEGIN);
    int to = readme.indexOf(END);
    String documented = from < 0 || to < from ? "(no table between the markers)"
        : readme.substring(from + BEGIN.length(), to).strip();
    String declared = table(ServiceLoader.load(ResourceProvider.class).stream().map(ServiceLoader.Provider::get)
        .sorted(Comparator.comparing(ResourceProvider::name)).toList());
    assertEquals(declared, documented, "README.md's member properties differ from the providers' declarations; "
        + "put this between the markers:\n" + declared + "\n");
  }

  static String table(List<ResourceProvider> providers) {
    StringBuilder out = new StringBuilder("| provider | key | default | meaning |\n|---|---|---|---|");
    for (ResourceProvider p : providers) {
      for (PropertySpec s : p.properties()) {
        out.append("\n| ").append(p.name()).append(" | ").append(s.secret() ? "secret " : "").append('`')
            .append(s.name()).append("` | ").append(s.defaultValue().isEmpty() ? "" : s.defaultValue()).append(" | ")
            .append(s.meaning()).append(" |");
      }
    }
    return out.toString();
  }
}
