@NullMarked
package io.lencap.micrometer;

import org.jspecify.annotations.NullMarked;
