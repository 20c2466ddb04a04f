package io.lencap.spi;

/**
 * One chunk of an entry's content.
 *
 * @param id the store's name for the chunk's content: opaque to providers, which may compare two ids for
 *     equality (same id, same bytes) but never derive one from content. It is a SHA-256 in a plain store
 *     and a keyed MAC in an encrypted one; {@link StoredState#matches} compares content with a chunk.
 * @param offset where the chunk starts in the entry
 * @param length its uncompressed length
 */
public record ChunkRef(String id, long offset, int length) {}
