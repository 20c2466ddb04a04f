@NullMarked
package io.lencap.spi.tck;

import org.jspecify.annotations.NullMarked;
