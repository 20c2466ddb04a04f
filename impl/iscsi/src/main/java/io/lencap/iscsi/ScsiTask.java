package io.lencap.iscsi;

import java.nio.ByteBuffer;
import org.jscsi.parser.scsi.SCSIStatus;

/**
 * One SCSI command in flight: what it asked (CDB, LUN, buffer) and what the target answered so far. Its data
 * arrives in order (DataPDUInOrder and DataSequenceInOrder are negotiated), so one count tracks its progress.
 */
final class ScsiTask {
  final int tag;
  final boolean write;
  final ByteBuffer buffer;
  final int length;
  final long lun;
  final ByteBuffer cdb;
  /** How often the command was sent: it is repeated after a UNIT ATTENTION. */
  int attempts = 1;
  /** The caller's byte offset of the data (a streamed READ's position on the LUN). */
  long offset;
  /** Data-In bytes received (reads), or bytes asked for by R2Ts (writes); both arrive in order. */
  int transferred;
  /** The residual the target reported with the status: positive under, negative over, 0 none. */
  long residual;
  boolean done;
  SCSIStatus status;
  byte[] sense = new byte[0];

  ScsiTask(int tag, boolean write, ByteBuffer buffer, long lun, ByteBuffer cdb) {
    this.tag = tag;
    this.cdb = cdb;
    this.write = write;
    this.buffer = buffer;
    this.length = buffer.remaining();
    this.lun = lun;
  }
}
