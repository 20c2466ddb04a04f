@NullMarked
package io.lencap.iscsi.address;

import org.jspecify.annotations.NullMarked;
