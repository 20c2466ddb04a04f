@NullMarked
package io.lencap.spi;

import org.jspecify.annotations.NullMarked;
