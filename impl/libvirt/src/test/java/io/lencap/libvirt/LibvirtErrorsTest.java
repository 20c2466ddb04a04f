package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.NotFoundException;
import io.lencap.api.UnavailableException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.libvirt.Error;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.jna.virError;

class LibvirtErrorsTest {
  static Error error(ErrorNumber code) {
    virError v = new virError();
    v.code = code.ordinal();
    v.message = "libvirt says " + code;
    return new Error(v);
  }

  @Test
  void mapsErrorNumbersByMeaning() {
    assertInstanceOf(NotFoundException.class, LibvirtErrors.translate(error(ErrorNumber.VIR_ERR_NO_DOMAIN), "vm", "x", null));
    assertInstanceOf(UnavailableException.class, LibvirtErrors.translate(error(ErrorNumber.VIR_ERR_SYSTEM_ERROR), "vm", "x", null));
    assertInstanceOf(UnavailableException.class, LibvirtErrors.translate(error(ErrorNumber.VIR_ERR_AUTH_FAILED), "vm", "x", null));
    assertInstanceOf(LencapTimeoutException.class,
        LibvirtErrors.translate(error(ErrorNumber.VIR_ERR_OPERATION_TIMEOUT), "vm", "x", null));
    LencapException unsupported = LibvirtErrors.translate(error(ErrorNumber.VIR_ERR_NO_SUPPORT), "vm", "x", null);
    assertSame(LencapException.class, unsupported.getClass());
    assertTrue(unsupported.getMessage().contains("cannot do it"), unsupported.getMessage());
  }

  @Test
  void badInputNamesTheMember() {
    InvalidSpecException e = assertInstanceOf(InvalidSpecException.class,
        LibvirtErrors.translate(error(ErrorNumber.VIR_ERR_XML_ERROR), "rank0", "defining it", null));
    assertEquals("resources[rank0]", e.field());
    assertTrue(e.getMessage().contains("defining it: libvirt says VIR_ERR_XML_ERROR"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(ErrorNumber.class)
  void everyNumberTranslatesAndKeepsItsCode(ErrorNumber code) {
    LencapException e = LibvirtErrors.translate(error(code), "vm", "doing it", null);
    assertTrue(e.getMessage().contains("doing it: libvirt says " + code), e.getMessage());
    assertEquals(code, LibvirtErrors.code(e));
    assertEquals(code, LibvirtErrors.code(new RuntimeException("wrapped", e)));
  }

  @Test
  void callTranslatesTheBindingsException() throws Exception {
    var c = TestDriver.connection();
    NotFoundException e = assertThrows(NotFoundException.class,
        () -> LibvirtErrors.call("vm", "looking up nope", () -> c.domainLookupByName("nope")));
    assertTrue(e.getMessage().contains("looking up nope"), e.getMessage());
    assertEquals(ErrorNumber.VIR_ERR_NO_DOMAIN, LibvirtErrors.code(e));
  }
}
