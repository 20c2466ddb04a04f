package io.lencap.iscsi;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** The few SCSI command descriptor blocks (SBC-3, SPC-4) the provider sends, and the sense data it reads. */
final class Cdb {

  private static final int MAX_10_LBA = 0xffffffff;

  private Cdb() {
  }

  /** READ(10) when the range fits in 32-bit addresses and 16-bit lengths (all jSCSI's target knows), else READ(16). */
  static ByteBuffer read(long lba, int blocks) {
    return fits10(lba, blocks) ? rw10(0x28, lba, blocks) : rw16(0x88, lba, blocks);
  }

  static ByteBuffer write(long lba, int blocks) {
    return fits10(lba, blocks) ? rw10(0x2a, lba, blocks) : rw16(0x8a, lba, blocks);
  }

  private static boolean fits10(long lba, int blocks) {
    return blocks <= 0xffff && lba + blocks - 1 <= Integer.toUnsignedLong(MAX_10_LBA);
  }

  private static ByteBuffer rw10(int opcode, long lba, int blocks) {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) opcode);
    cdb.putInt(2, (int) lba);
    cdb.putShort(7, (short) blocks);
    return cdb;
  }

  private static ByteBuffer rw16(int opcode, long lba, int blocks) {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) opcode);
    cdb.putLong(2, lba);
    cdb.putInt(10, blocks);
    return cdb;
  }

  static ByteBuffer readCapacity10() {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) 0x25);
    return cdb;
  }

  static ByteBuffer readCapacity16(int allocationLength) {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) 0x9e);
    cdb.put(1, (byte) 0x10); // service action READ CAPACITY(16)
    cdb.putInt(10, allocationLength);
    return cdb;
  }

  static ByteBuffer reportLuns(int allocationLength) {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) 0xa0);
    cdb.putInt(6, allocationLength);
    return cdb;
  }

  static ByteBuffer synchronizeCache10() {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) 0x35);
    return cdb;
  }

  /** LUN numbers from REPORT LUNS parameter data (peripheral and flat addressing). */
  static List<Integer> parseReportLuns(byte[] data, int length) {
    List<Integer> luns = new ArrayList<>();
    if (length < 8) {
      return luns;
    }
    ByteBuffer b = ByteBuffer.wrap(data, 0, length);
    int listBytes = b.getInt(0);
    for (int at = 8; at + 8 <= Math.min(length, 8 + listBytes); at += 8) {
      int first = data[at] & 0xff;
      int second = data[at + 1] & 0xff;
      int method = first >> 6;
      if (method == 0) {
        luns.add(second);
      } else if (method == 1) {
        luns.add(((first & 0x3f) << 8) | second);
      }
    }
    return luns;
  }

  /** Fixed or descriptor format sense data (SPC-4 4.5): key, additional sense code and qualifier. */
  record Sense(int key, int asc, int ascq) {

    static Sense parse(byte[] sense) {
      if (sense.length < 3) {
        return null;
      }
      int code = sense[0] & 0x7f;
      if ((code == 0x70 || code == 0x71) && sense.length >= 14) {
        return new Sense(sense[2] & 0x0f, sense[12] & 0xff, sense[13] & 0xff);
      }
      if ((code == 0x72 || code == 0x73) && sense.length >= 4) {
        return new Sense(sense[1] & 0x0f, sense[2] & 0xff, sense[3] & 0xff);
      }
      return null;
    }

    /** ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED. */
    boolean lunNotSupported() {
      return key == 0x5 && asc == 0x25;
    }

    boolean unitAttention() {
      return key == 0x6;
    }

    /** ILLEGAL REQUEST: for a command whose only set field is its operation code, the target lacks it. */
    boolean illegalRequest() {
      return key == 0x5;
    }

    @Override
    public String toString() {
      return String.format("sense key 0x%x, ASC 0x%02x, ASCQ 0x%02x", key, asc, ascq);
    }
  }
}
