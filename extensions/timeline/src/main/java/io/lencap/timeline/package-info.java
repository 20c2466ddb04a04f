@NullMarked
package io.lencap.timeline;

import org.jspecify.annotations.NullMarked;
