package io.lencap.samples;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** A plain-text table with aligned columns; a column whose header starts with '>' is right-aligned. */
final class TextTable {
  private final List<String> headers = new ArrayList<>();
  private final List<Boolean> right = new ArrayList<>();
  private final List<List<String>> rows = new ArrayList<>();

  TextTable(String... headers) {
    for (String h : headers) {
      boolean r = h.startsWith(">");
      this.headers.add(r ? h.substring(1) : h);
      this.right.add(r);
    }
  }

  TextTable row(Object... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException(cells.length + " cells for " + headers.size() + " columns");
    }
    List<String> row = new ArrayList<>();
    for (Object c : cells) {
      row.add(String.valueOf(c));
    }
    rows.add(row);
    return this;
  }

  void print(PrintStream out) {
    int[] width = new int[headers.size()];
    for (int i = 0; i < width.length; i++) {
      width[i] = headers.get(i).length();
      for (List<String> row : rows) {
        width[i] = Math.max(width[i], row.get(i).length());
      }
    }
    line(out, headers, width);
    for (List<String> row : rows) {
      line(out, row, width);
    }
  }

  private void line(PrintStream out, List<String> cells, int[] width) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < width.length; i++) {
      String cell = cells.get(i);
      String pad = " ".repeat(width[i] - cell.length());
      sb.append(i == 0 ? "" : "  ").append(right.get(i) ? pad + cell : cell + pad);
    }
    out.println(sb.toString().stripTrailing());
  }
}
