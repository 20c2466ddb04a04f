/**
 * How {@link io.lencap.api.Lencap#builder()} binds to an engine: implemented by lencap-core, never called by
 * users. Exported to the engine only.
 */
@NullMarked
package io.lencap.api.spi;

import org.jspecify.annotations.NullMarked;
