package io.lencap.spec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Reads an encapsulation and its policy from a YAML or JSON file: the builders' fields, validated by the
 * builders, with errors naming the path in the file ({@code members[1].locator: ...}).
 *
 * <pre>{@code
 * name: job-42
 * members:
 *   - id: scratch
 *     type: block
 *     locator: iscsi://10.0.0.5:3260/iqn.2026-11.org.example:scratch/1
 *     properties: {chap.user: lencap}
 *     secrets: {chap.secret: env:SCRATCH_CHAP}    # or file:/etc/lencap/scratch.chap
 *   - id: rank0
 *     type: vm
 *     locator: qemu:///system
 *     properties: {domain: rank0}
 *     dependsOn: [scratch]
 * policy:
 *   pauseBudget: 2s          # or ISO-8601: PT2S
 *   keepLast: 3
 * }</pre>
 *
 * <p>Secrets are references only, {@code env:NAME} or {@code file:/path} (a relative path is read from the
 * spec's directory): a value written inline is refused without being echoed, so that group files can be kept in
 * version control. Thread-safe.
 */
public final class SpecReader {
  /** A spec file is a few kilobytes; refusing large ones keeps a wrong path from filling the heap. */
  static final int MAX_BYTES = 1 << 20;

  private static final List<String> TOP = List.of("name", "members", "policy");
  private static final List<String> MEMBER = List.of("id", "type", "locator", "properties", "secrets", "dependsOn");
  private static final Pattern BUILDER_FIELD = Pattern.compile("resources\\[([^\\]]*)\\](.*)");

  private final Function<String, @Nullable String> environment;

  private SpecReader(Function<String, @Nullable String> environment) {
    this.environment = environment;
  }

  /** Reads secrets given as {@code env:NAME} from this process's environment. */
  public static SpecReader standard() {
    return new SpecReader(System::getenv);
  }

  /** Reads secrets given as {@code env:NAME} from {@code environment} (for tests and embedders). */
  public static SpecReader withEnvironment(Map<String, String> environment) {
    Map<String, String> copy = Map.copyOf(environment);
    return new SpecReader(copy::get);
  }

  /**
   * Reads a spec file: JSON when its name ends in {@code .json}, YAML otherwise. Throws
   * {@link InvalidSpecException} naming the field (or {@code spec} for a file that cannot be read or parsed).
   */
  public Encapsulation read(Path file) {
    byte[] bytes;
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new InvalidSpecException("spec", file + " is larger than " + MAX_BYTES + " bytes; is it a spec?");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new InvalidSpecException("spec", "no such file " + file + "; give the path of a YAML or JSON spec");
    } catch (IOException e) {
      throw new InvalidSpecException("spec", "cannot read " + file + ": " + e);
    }
    Path dir = file.toAbsolutePath().getParent();
    boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
    return parse(new String(bytes, StandardCharsets.UTF_8), json, dir == null ? Path.of(".") : dir);
  }

  /** Parses a spec's text (YAML, of which JSON is a subset); {@code file:} secrets are read relative to the working directory. */
  public Encapsulation parse(String text) {
    return parse(text, false, Path.of("."));
  }

  private Encapsulation parse(String text, boolean json, Path baseDirectory) {
    JsonNode root = tree(text, json);
    if (!root.isObject()) {
      throw new InvalidSpecException("spec", "must be a mapping with name, members and policy");
    }
    onlyKnown("", root, TOP);
    String name = SpecValues.text("name", root.get("name"));
    SecretReferences secrets = new SecretReferences(environment, baseDirectory);
    Encapsulation.Builder group = Encapsulation.builder(name);
    JsonNode members = root.get("members");
    if (members == null || members.isNull()) {
      throw new InvalidSpecException("members", "is required: a list of at least one member");
    }
    if (!members.isArray()) {
      throw new InvalidSpecException("members", "must be a list of members, was " + SpecValues.kind(members));
    }
    Map<String, Integer> indexById = new HashMap<>();
    for (int i = 0; i < members.size(); i++) {
      String path = "members[" + i + "]";
      Resource r = member(path, members.get(i), secrets);
      SpecValues.at(path + ".id", () -> group.resource(r));
      indexById.put(r.id(), i);
    }
    JsonNode policy = root.get("policy");
    if (policy != null && !policy.isNull()) {
      group.policy(PolicyFields.read(policy));
    }
    try {
      return group.build();
    } catch (InvalidSpecException e) {
      throw new InvalidSpecException(inFile(e.field(), indexById), SpecValues.problem(e));
    }
  }

  private static JsonNode tree(String text, boolean json) {
    JsonFactory factory = json ? new JsonFactory() : new YAMLFactory();
    // The parser's messages must not quote the file: it may sit next to what a user thought was a secret.
    factory.disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION.mappedFeature());
    factory.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    try {
      JsonNode root = new ObjectMapper(factory).readTree(text);
      if (root == null || root.isMissingNode()) {
        throw new InvalidSpecException("spec", "is empty");
      }
      return root;
    } catch (JsonProcessingException e) {
      var at = e.getLocation();
      throw new InvalidSpecException("spec", "not valid " + (json ? "JSON" : "YAML")
          + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ": "
          + problemOnly(e.getOriginalMessage()));
    }
  }

  /** SnakeYAML's messages quote the lines around the problem (indented): keep only what they say. */
  private static String problemOnly(String message) {
    return message.lines().filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0)))
        .collect(Collectors.joining("; "));
  }

  private static Resource member(String path, JsonNode node, SecretReferences secrets) {
    if (!node.isObject()) {
      throw new InvalidSpecException(path, "must be a mapping with id, type and locator, was " + SpecValues.kind(node));
    }
    onlyKnown(path + ".", node, MEMBER);
    String id = SpecValues.text(path + ".id", node.get("id"));
    Resource.Builder b = SpecValues.at(path + ".id", () -> Resource.builder(id));
    String type = SpecValues.text(path + ".type", node.get("type"));
    SpecValues.at(path + ".type", () -> b.type(type));
    String locator = SpecValues.text(path + ".locator", node.get("locator"));
    SpecValues.at(path + ".locator", () -> b.locator(locator));
    SpecValues.entries(path + ".properties", node.get("properties")).forEach((key, value) -> {
      String field = path + ".properties." + key;
      String v = SpecValues.text(field, value);
      SpecValues.at(field, () -> b.property(key, v));
    });
    SpecValues.entries(path + ".secrets", node.get("secrets")).forEach((key, value) -> {
      String field = path + ".secrets." + key;
      var secret = secrets.resolve(field, value);
      SpecValues.at(field, () -> b.secret(key, secret));
    });
    for (String dep : SpecValues.texts(path + ".dependsOn", node.get("dependsOn"))) {
      SpecValues.at(path + ".dependsOn", () -> b.dependsOn(dep));
    }
    try {
      return b.build();
    } catch (InvalidSpecException e) {
      Matcher m = BUILDER_FIELD.matcher(e.field());
      String suffix = m.matches() ? m.group(2) : e.field().equals("resource.id") ? ".id" : "";
      throw new InvalidSpecException(path + suffix, SpecValues.problem(e));
    }
  }

  static void onlyKnown(String prefix, JsonNode node, List<String> known) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!known.contains(key)) {
        throw new InvalidSpecException(prefix + key, "unknown field; known: " + String.join(", ", known));
      }
    }
  }

  /** The builders name members by id ({@code resources[vm].dependsOn}); the file names them by position. */
  private static String inFile(String field, Map<String, Integer> indexById) {
    Matcher m = BUILDER_FIELD.matcher(field);
    if (m.matches()) {
      Integer i = indexById.get(m.group(1));
      return "members[" + Objects.requireNonNullElse(i, m.group(1)) + "]" + m.group(2);
    }
    if (field.equals("encapsulation.name")) {
      return "name";
    }
    return field.equals("resources") ? "members" : field;
  }
}
