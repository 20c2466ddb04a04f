package io.lencap.spi;

/**
 * One chunk of an entry's content.
 *
 * @param id the chunk's content address: lower-case hex SHA-256 of its uncompressed bytes
 * @param offset where the chunk starts in the entry
 * @param length its uncompressed length
 */
public record ChunkRef(String id, long offset, int length) {}
