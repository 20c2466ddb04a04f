@NullMarked
package io.lencap.localdir;

import org.jspecify.annotations.NullMarked;
