package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NfsLocatorTest {
  private static Resource r(String locator, String... props) {
    Resource.Builder b = Resource.builder("nas").type(ResourceType.FILE_TREE).locator(locator);
    for (int i = 0; i < props.length; i += 2) {
      b.property(props[i], props[i + 1]);
    }
    return b.build();
  }

  @Test
  void parsesHostPathAndDefaults() {
    NfsLocator l = NfsLocator.of(r("nfs://filer/vol/data/projects"));
    assertEquals("filer", l.host());
    assertEquals("/vol/data/projects", l.path());
    assertEquals(Optional.empty(), l.export());
    assertEquals(0, l.uid());
    assertEquals(List.of("/vol/data/projects", "/vol/data", "/vol", "/"), l.exportCandidates());
    assertEquals(List.of("data", "projects"), l.below("/vol"));
    assertEquals(List.of(), l.below("/vol/data/projects"));
  }

  @Test
  void aDeclaredExportIsTheOnlyCandidate() {
    NfsLocator l = NfsLocator.of(r("nfs://filer/vol/data//projects/?version=3", "export", "/vol", "uid", "1000",
        "gid", "100"));
    assertEquals("/vol/data/projects", l.path());
    assertEquals(List.of("/vol"), l.exportCandidates());
    assertEquals(1000, l.uid());
    assertEquals(100, l.gid());
  }

  @Test
  void badLocatorsNameTheField() {
    assertField("locator", () -> NfsLocator.of(r("iscsi://filer/x")));
    assertField("locator", () -> NfsLocator.of(r("nfs:///x")));
    assertField("locator", () -> NfsLocator.of(r("nfs://filer:2049/x")));
    assertField("locator", () -> NfsLocator.of(r("nfs://filer/x/../etc")));
    assertField("locator", () -> NfsLocator.of(r("nfs://filer/x?version=4")));
    assertField("locator", () -> NfsLocator.of(r("nfs://user:pw@filer/x")));
    assertField("properties.uid", () -> NfsLocator.of(r("nfs://filer/x", "uid", "-1")));
    assertField("properties.gid", () -> NfsLocator.of(r("nfs://filer/x", "gid", "abc")));
    assertField("properties.export", () -> NfsLocator.of(r("nfs://filer/x/y", "export", "/z")));
  }

  @Test
  void userInfoNeverReachesTheMessage() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> NfsLocator.of(r("nfs://user:s3cret@filer/x")));
    assertTrue(!e.getMessage().contains("s3cret"), e.getMessage());
  }

  private static void assertField(String suffix, org.junit.jupiter.api.function.Executable e) {
    InvalidSpecException x = assertThrows(InvalidSpecException.class, e);
    assertTrue(x.field().endsWith(suffix), x.field() + " does not end with " + suffix + ": " + x.getMessage());
  }
}
