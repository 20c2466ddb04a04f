package io.lencap.spi;

import java.time.Instant;

/** An object listed by {@link BlobBackend#list}. */
public record BlobInfo(String key, long size, Instant lastModified) {}
