package io.lencap.benchmarks;

import java.time.Duration;
import java.util.Random;

/**
 * Work lost to failures at the Young/Daly interval against half and double of it, on one simulated
 * failure trace (exponential inter-arrival times with the given MTBF, fixed seed). A failure loses the
 * work since the last checkpoint plus the restart time; every checkpoint costs its pause.
 * Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.IntervalSimulation
 * -Dexec.args="COST_MS MTBF_S RESTART_MS"} with the cost and restart measured by {@code MpiLauncher}.
 */
public final class IntervalSimulation {
  public static void main(String[] args) {
    double cost = (args.length > 0 ? Double.parseDouble(args[0]) : 540) / 1000;
    double mtbf = args.length > 1 ? Double.parseDouble(args[1]) : 120;
    double restart = (args.length > 2 ? Double.parseDouble(args[2]) : 7356) / 1000;
    double daly = daly(cost, mtbf);
    System.out.printf("cost C = %.3f s, MTBF M = %.0f s, restart R = %.3f s: Young/Daly interval %.2f s%n", cost,
        mtbf, restart, daly);
    System.out.printf("%-12s %10s %14s %16s %12s%n", "interval", "seconds", "lost/failure", "overhead total",
        "efficiency");
    for (double factor : new double[] {0.5, 1, 2}) {
      double[] r = simulate(daly * factor, cost, restart, mtbf, 200_000 * mtbf, 42);
      System.out.printf("%-12s %10.2f %12.2f s %14.0f s %11.2f%%%n", factor == 1 ? "Daly" : factor + " x Daly",
          daly * factor, r[0], r[1], 100 * r[2]);
    }
    double[] half = simulate(daly / 2, cost, restart, mtbf, 200_000 * mtbf, 42);
    double[] twice = simulate(daly * 2, cost, restart, mtbf, 200_000 * mtbf, 42);
    double[] at = simulate(daly, cost, restart, mtbf, 200_000 * mtbf, 42);
    System.out.printf("ratio total overhead (half / Daly): %.3f, (double / Daly): %.3f; lost per failure "
        + "(double / Daly): %.2f%n", half[1] / at[1], twice[1] / at[1], twice[0] / at[0]);
  }

  /** Daly's higher-order estimate, as the engine computes it. */
  static double daly(double c, double m) {
    if (c >= 2 * m) {
      return m;
    }
    double r = c / (2 * m);
    return Math.sqrt(2 * c * m) * (1 + Math.sqrt(r) / 3 + r / 9) - c;
  }

  /** {lost work per failure, total overhead (checkpoints + lost work + restarts), efficiency}. */
  static double[] simulate(double interval, double cost, double restart, double mtbf, double horizon, long seed) {
    Random random = new Random(seed);
    double useful = 0;
    double overhead = 0;
    double lostTotal = 0;
    int failures = 0;
    double clock = 0;
    double nextFailure = -mtbf * Math.log(1 - random.nextDouble());
    while (clock < horizon) {
      double segmentEnd = clock + interval + cost; // compute, then checkpoint
      if (nextFailure >= segmentEnd) {
        useful += interval;
        overhead += cost;
        clock = segmentEnd;
      } else {
        double lost = nextFailure - clock; // the work since the last checkpoint (and any partial checkpoint)
        lostTotal += lost;
        overhead += lost + restart;
        failures++;
        clock = nextFailure + restart;
        nextFailure = clock - mtbf * Math.log(1 - random.nextDouble());
      }
    }
    return new double[] {lostTotal / Math.max(1, failures), overhead, useful / clock};
  }
}
