package io.lencap.api;

import java.util.List;
import java.util.Map;

/**
 * What a {@link Lencap#sync} copied from one store to another.
 *
 * @param encapsulation the encapsulation's name
 * @param copied checkpoints copied now, oldest first
 * @param present checkpoints the target already had
 * @param skipped checkpoints not copied, with why (deleted from the source while the sync ran)
 * @param chunksSent chunks written to the target
 * @param bytesSent their stored bytes (as stored: compressed, and encrypted when the source is)
 * @param chunksPresent chunks the copied checkpoints need that the target already had (not sent)
 */
public record SyncReport(String encapsulation, List<String> copied, List<String> present,
    Map<String, String> skipped, long chunksSent, long bytesSent, long chunksPresent) {
  public SyncReport {
    copied = List.copyOf(copied);
    present = List.copyOf(present);
    skipped = Map.copyOf(skipped);
  }
}
