package io.lencap.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapListener;
import io.lencap.spec.SpecReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code lencap} command: capture, restore, inspect and verify groups from a shell. Built on the public API
 * only ({@link Lencap} and {@link SpecReader}), so that it is also an example of embedding Lencap. Exit
 * statuses by meaning: {@link ExitStatus}.
 */
@Command(name = "lencap", mixinStandardHelpOptions = true, version = "lencap 0.1.0-SNAPSHOT",
    description = "Captures and restores groups of VMs, LUNs and directory trees as one consistent checkpoint.",
    subcommands = {CaptureCommand.class, RestoreCommand.class, ListCommand.class, ShowCommand.class,
        DiffCommand.class, VerifyCommand.class, DeleteCommand.class, GcCommand.class, ProtectCommand.class,
        TimelineCommand.class, DrillCommand.class, HelpCommand.class, AutoComplete.GenerateCompletion.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:done", "1:failed otherwise", "2:usage: unknown command or option", "3:not found",
        "4:invalid spec (the field is named)", "5:corrupt: a chunk failed verification",
        "6:unavailable: the store or a member's host", "7:aborted: nothing committed, every member resumed",
        "8:timeout", "9:drill failed: a sandboxed member or the check failed"})
public final class LencapCli {
  @Mixin
  StoreOptions store = new StoreOptions();

  @Option(names = "--json", scope = ScopeType.INHERIT,
      description = "print JSON on standard output (the shapes are in docs/CLI.md)")
  boolean json;

  final Map<String, String> environment;
  final PrintWriter out;
  final PrintWriter err;
  final boolean terminal;
  final ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  LencapCli(Map<String, String> environment, PrintWriter out, PrintWriter err, boolean terminal) {
    this.environment = Map.copyOf(environment);
    this.out = out;
    this.err = err;
    this.terminal = terminal;
  }

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(run(args, System.getenv(), out, err, System.console() != null));
  }

  /** Runs one command line and returns its exit status. */
  static int run(String[] args, Map<String, String> environment, PrintWriter out, PrintWriter err, boolean terminal) {
    LencapCli cli = new LencapCli(environment, out, err, terminal);
    CommandLine cmd = new CommandLine(cli);
    cmd.setOut(out).setErr(err);
    cmd.setExecutionExceptionHandler((e, line, parsed) -> cli.fail(e));
    cmd.setExitCodeExceptionMapper(ExitStatus::codeOf);
    int status = cmd.execute(args);
    out.flush();
    err.flush();
    return status;
  }

  private int fail(Exception e) {
    ExitStatus s = ExitStatus.of(e);
    String line = ExitStatus.line(e);
    err.println(line);
    if (json) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("status", s.word);
      error.put("exit", s.code);
      error.put("message", line.substring(line.indexOf(": ", 8) + 2));
      print(Map.of("error", error));
    }
    return s.code;
  }

  Encapsulation spec(Path file) {
    return SpecReader.withEnvironment(environment).read(file);
  }

  /** Opens an existing store. */
  Lencap open(LencapListener... listeners) {
    return store.open(environment, false, List.of(listeners));
  }

  /** Opens the store, creating a local one if missing (capture, protect). */
  Lencap openOrCreate(LencapListener... listeners) {
    return store.open(environment, true, List.of(listeners));
  }

  void print(Object jsonValue) {
    try {
      out.println(mapper.writeValueAsString(jsonValue));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }
}
