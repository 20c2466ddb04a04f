@NullMarked
package io.lencap.api;

import org.jspecify.annotations.NullMarked;
