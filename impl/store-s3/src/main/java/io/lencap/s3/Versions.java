package io.lencap.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.services.s3.model.DeleteMarkerEntry;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectVersion;

/**
 * The versions of one key in a versioned bucket (every Object Lock bucket is one), from a
 * ListObjectVersions page. A plain DELETE there only adds a delete marker and hides the data, which stays;
 * so the backend reads the newest data version past any marker and deletes by version.
 */
record Versions(List<ObjectVersion> data, List<String> markers) {

  /** The versions of exactly {@code fullKey} in a listing of it as a prefix (S3 lists them newest first). */
  static Versions of(String fullKey, ListObjectVersionsResponse page) {
    List<ObjectVersion> data = new ArrayList<>();
    for (ObjectVersion v : page.versions()) {
      if (v.key().equals(fullKey)) {
        data.add(v);
      }
    }
    List<String> markers = new ArrayList<>();
    for (DeleteMarkerEntry m : page.deleteMarkers()) {
      if (m.key().equals(fullKey)) {
        markers.add(m.versionId());
      }
    }
    return new Versions(data, markers);
  }

  /** The newest version that holds data, whatever delete markers came after it. */
  Optional<ObjectVersion> newest() {
    return data.isEmpty() ? Optional.empty() : Optional.of(data.get(0));
  }

  /** The data versions an overwrite left behind: all but the newest. */
  List<ObjectVersion> older() {
    return data.stream().skip(1).toList();
  }
}
