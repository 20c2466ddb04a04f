package io.lencap.spi.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.net.URI;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The {@link StorageSnapshot} TCK: what a provider relies on when it cuts with a vendor's snapshot. An
 * implementation's test extends it with a resource on the real storage and a way to read and change it.
 */
public abstract class StorageSnapshotContract {

  /** The implementation under test. */
  protected abstract StorageSnapshot snapshots();

  /** A resource the implementation supports, on the real storage. */
  protected abstract Resource resource();

  /** The content at {@code locator} (the resource's own, or an image's), as bytes or a digest of them. */
  protected abstract byte[] read(URI locator) throws Exception;

  /** Changes the resource's content. */
  protected abstract void change() throws Exception;

  @Test
  void itSupportsTheResourceAndNotAnotherScheme() {
    assertTrue(snapshots().supports(resource()));
    Resource other = Resource.builder("other").type(resource().type()).locator(URI.create("unsupported://x/y"))
        .build();
    assertFalse(snapshots().supports(other), "a resource without the implementation's settings");
  }

  @Test
  void anImageReadsAsTheResourceDidWhenItWasTakenAndStaysSo() throws Exception {
    byte[] before = read(resource().locator());
    URI image = snapshots().take(resource(), "tck-frozen");
    try {
      assertEquals(resource().locator().getScheme(), image.getScheme(), "the image is read by the same provider");
      assertNotEquals(resource().locator(), image);
      assertArrayEquals(before, read(image));
      change();
      assertFalse(Arrays.equals(before, read(resource().locator())), "the change reached the resource");
      assertArrayEquals(before, read(image), "the image did not follow the change");
    } finally {
      snapshots().delete(resource(), "tck-frozen");
    }
  }

  @Test
  void twoImagesAreTwoLocators() throws Exception {
    URI a = snapshots().take(resource(), "tck-a");
    try {
      URI b = snapshots().take(resource(), "tck-b");
      snapshots().delete(resource(), "tck-b");
      assertNotEquals(a, b);
    } finally {
      snapshots().delete(resource(), "tck-a");
    }
  }

  /** Every implementation, recording changes or not, answers "cannot tell" from a base it never took. */
  @Test
  void changesSinceAnUnknownBaseCannotBeTold() throws Exception {
    snapshots().take(resource(), "tck-known");
    try {
      assertEquals(Optional.empty(), snapshots().changed(resource(), "tck-never-taken", "tck-known"));
    } finally {
      snapshots().delete(resource(), "tck-known");
    }
  }

  @Test
  void deletingTwiceOrAnUnknownNameIsNoError() throws Exception {
    snapshots().take(resource(), "tck-twice");
    snapshots().delete(resource(), "tck-twice");
    snapshots().delete(resource(), "tck-twice");
    snapshots().delete(resource(), "tck-never-taken");
  }
}
