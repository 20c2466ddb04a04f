/**
 * Declarative groups: {@link io.lencap.spec.SpecReader} reads an {@link io.lencap.api.Encapsulation} and its
 * {@link io.lencap.api.ResiliencyPolicy} from a YAML or JSON file, with the builders' validation and errors that
 * name the field's path in the file ({@code members[1].locator}). Secrets are only referenced there.
 */
@NullMarked
package io.lencap.spec;

import org.jspecify.annotations.NullMarked;
