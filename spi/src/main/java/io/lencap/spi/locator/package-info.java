/**
 * How locators are compared, shared by {@link io.lencap.spi.ResourceProvider#sameLocator} and the engine's drill
 * sandbox check (a qualified export to {@code io.lencap.core}; not an API).
 */
@NullMarked
package io.lencap.spi.locator;

import org.jspecify.annotations.NullMarked;
