package io.lencap.iscsi;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Fault injection: forwards to a sink and runs an action (kill the target) once a number of bytes went by. */
final class KillingSink implements StateSink {

  interface Action {
    void run() throws Exception;
  }

  private final StateSink delegate;
  private final AtomicLong seen;
  private final long after;
  private final Action action;
  private boolean fired;

  KillingSink(StateSink delegate, AtomicLong seen, long after, Action action) {
    this.delegate = delegate;
    this.seen = seen;
    this.after = after;
    this.action = action;
  }

  @Override
  public EntryWriter create(String path, EntryKind kind, Map<String, String> attributes, Chunking chunking)
    throws IOException {
    EntryWriter w = delegate.create(path, kind, attributes, chunking);
    return new EntryWriter() {
      @Override
      public void write(ByteBuffer data) throws IOException {
        long total = seen.addAndGet(data.remaining());
        w.write(data);
        if (total >= after && !fired) {
          fired = true;
          try {
            action.run();
          } catch (Exception e) {
            throw new IOException(e);
          }
        }
      }

      @Override
      public void reuse(ChunkRef chunk) throws IOException {
        w.reuse(chunk);
      }

      @Override
      public long size() {
        return w.size();
      }

      @Override
      public OutputStream asStream() {
        return w.asStream();
      }

      @Override
      public void close() throws IOException {
        w.close();
      }
    };
  }

  @Override
  public void reuse(StoredEntry entry) {
    delegate.reuse(entry);
  }

  @Override
  public void remove(String path) {
    delegate.remove(path);
  }

  @Override
  public void attribute(String key, String value) {
    delegate.attribute(key, value);
  }

  @Override
  public void expectBytes(long total) {
    delegate.expectBytes(total);
  }
}
