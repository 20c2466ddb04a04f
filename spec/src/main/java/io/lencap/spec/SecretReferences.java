package io.lencap.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Secret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Resolves a secret given by reference: {@code env:NAME} or {@code file:PATH}. Nothing else is accepted, and
 * no error ever contains what was written in the value's place or what was read: only the reference.
 */
public final class SecretReferences {
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
  /** Key material and passwords are short; a larger file is most likely the wrong one. */
  private static final int MAX_BYTES = 64 * 1024;

  private final Function<String, @Nullable String> environment;
  private final Path baseDirectory;

  /**
   * @param environment looks up {@code env:} references
   * @param baseDirectory where relative {@code file:} references are read from
   */
  public SecretReferences(Function<String, @Nullable String> environment, Path baseDirectory) {
    this.environment = environment;
    this.baseDirectory = baseDirectory;
  }

  /** References resolved against this process's environment and working directory. */
  public static SecretReferences standard() {
    return new SecretReferences(System::getenv, Path.of("."));
  }

  Secret resolve(String field, JsonNode node) {
    if (node == null || !node.isTextual()) {
      throw inline(field);
    }
    return resolve(field, node.asText());
  }

  /**
   * The secret a reference names. Throws {@link InvalidSpecException} naming {@code field} when the reference
   * is not {@code env:NAME} or {@code file:PATH} (the value is not repeated), or what it names is missing or
   * empty.
   */
  public Secret resolve(String field, String reference) {
    if (reference.startsWith("env:")) {
      String name = reference.substring(4);
      if (!ENV_NAME.matcher(name).matches()) {
        throw new InvalidSpecException(field, "env: must be followed by an environment variable's name");
      }
      String value = environment.apply(name);
      if (value == null || value.isEmpty()) {
        throw new InvalidSpecException(field, "environment variable " + name + " is not set or empty; export it "
            + "before running");
      }
      return Secret.of(value);
    }
    if (reference.startsWith("file:")) {
      String where = reference.substring(5);
      if (where.startsWith("//")) {
        where = where.substring(2); // file:///etc/x as well as file:/etc/x
      }
      if (where.isEmpty()) {
        throw new InvalidSpecException(field, "file: must be followed by a path");
      }
      return Secret.of(readFile(field, baseDirectory.resolve(where)));
    }
    throw inline(field);
  }

  private static String readFile(String field, Path file) {
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new InvalidSpecException(field, file + " is larger than " + MAX_BYTES + " bytes; name the secret's "
            + "own file");
      }
      String value = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
      // Files written by `echo` end with a newline that is not part of the secret.
      value = value.endsWith("\r\n") ? value.substring(0, value.length() - 2)
          : value.endsWith("\n") ? value.substring(0, value.length() - 1) : value;
      if (value.isEmpty()) {
        throw new InvalidSpecException(field, file + " is empty");
      }
      return value;
    } catch (NoSuchFileException e) {
      throw new InvalidSpecException(field, "no such file " + file);
    } catch (IOException e) {
      throw new InvalidSpecException(field, "cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  private static InvalidSpecException inline(String field) {
    return new InvalidSpecException(field, "give secrets by reference only, env:NAME or file:/path (the value "
        + "given is not repeated here)");
  }
}
