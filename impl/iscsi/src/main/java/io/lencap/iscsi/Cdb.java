package io.lencap.iscsi;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

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

  /** Standard INQUIRY (EVPD 0). */
  static ByteBuffer inquiry(int allocationLength) {
    ByteBuffer cdb = ByteBuffer.allocate(16);
    cdb.put(0, (byte) 0x12);
    cdb.putShort(3, (short) allocationLength);
    return cdb;
  }

  /** The LBA a READ or WRITE starts at; empty for other commands. */
  static Optional<Long> lbaOf(ByteBuffer cdb) {
    return switch (cdb.get(0) & 0xff) {
      case 0x28, 0x2a -> Optional.of(Integer.toUnsignedLong(cdb.getInt(2)));
      case 0x88, 0x8a -> Optional.of(cdb.getLong(2));
      default -> Optional.empty();
    };
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

  /** Standard INQUIRY data (SPC-4 6.4.2): the peripheral qualifier and device type. */
  record Inquiry(int qualifier, int deviceType) {

    static final int DIRECT_ACCESS = 0x00;
    static final int STORAGE_ARRAY_CONTROLLER = 0x0c;

    static Inquiry parse(byte[] data, int length) {
      return length < 1 ? null : new Inquiry((data[0] & 0xff) >> 5, data[0] & 0x1f);
    }

    /** Qualifier 011b: the target cannot have a device at this LUN. */
    boolean present() {
      return qualifier != 3;
    }

    boolean isDisk() {
      return qualifier == 0 && deviceType == DIRECT_ACCESS;
    }

    String describe() {
      String kind = switch (deviceType) {
        case STORAGE_ARRAY_CONTROLLER -> "the target's controller";
        case 0x01 -> "a tape";
        case 0x05 -> "a CD/DVD device";
        case 0x0d -> "an enclosure services device";
        default -> "a device of another kind";
      };
      return kind + String.format(" (SCSI device type 0x%02x%s)", deviceType,
        qualifier == 0 ? "" : ", not connected now");
    }
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
