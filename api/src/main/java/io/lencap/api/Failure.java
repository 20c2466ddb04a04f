package io.lencap.api;

import java.time.Instant;

/**
 * A confirmed failure of a member of a protected encapsulation.
 *
 * @param encapsulation the group
 * @param memberId the member that failed
 * @param kind what was seen
 * @param detail the provider's words
 * @param detectedAt when the failure was confirmed
 */
public record Failure(String encapsulation, String memberId, FailureKind kind, String detail, Instant detectedAt) {}
