package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The window's arithmetic: task tags and CmdSN against MaxCmdSN, across their 32-bit wraps. */
class CommandWindowTest {

  @Test
  void tagsCountUpAndSkipTheLoginTagAndTheReservedTag() {
    assertEquals(2, CommandWindow.tagAfter(1));
    assertEquals(0x7fffffff, CommandWindow.tagAfter(0x7ffffffe));
    assertEquals(0x80000000, CommandWindow.tagAfter(0x7fffffff));
    assertEquals(1, CommandWindow.tagAfter(0xfffffffe), "0xffffffff is NO_TAG");
    assertEquals(1, CommandWindow.tagAfter(0xffffffff), "0 is the login's tag");
  }

  @Test
  void theWindowTakesCommandsUpToMaxCmdSnInSerialArithmetic() {
    assertTrue(CommandWindow.windowOpen(5, 5), "MaxCmdSN itself may still be sent");
    assertTrue(CommandWindow.windowOpen(5, 68));
    assertFalse(CommandWindow.windowOpen(6, 5), "a full window waits");
    assertTrue(CommandWindow.windowOpen(0xffffffff, 2), "across the wrap");
    assertFalse(CommandWindow.windowOpen(3, 0xfffffffe), "MaxCmdSN behind CmdSN across the wrap");
    assertTrue(CommandWindow.windowOpen(0x7fffffff, 0x80000001));
  }

  @Test
  void residualsAreUnsignedCountsSignedByDirection() {
    assertEquals(4096, CommandWindow.residual(true, false, 4096));
    assertEquals(-4096, CommandWindow.residual(false, true, 4096));
    assertEquals(0, CommandWindow.residual(false, false, 4096), "a count without a flag is not a residual");
    assertEquals(0xffffffffL, CommandWindow.residual(true, false, -1), "32-bit unsigned, not -1");
  }
}
