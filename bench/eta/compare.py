#!/usr/bin/env python3
"""Prints estimate against actual for the folders bench/eta/run.sh leaves.

Per grid: each run's estimate (runs.cost_estimate) against its wall time
(runs.wall_seconds), the plan's ETA against the wall time of `sweep run`, and
the live ETA (on every epoch and finished-run line of the --plain log) against
the time that was really left then. Runs that stopped early are compared with
their estimate scaled to the epochs they ran, and counted apart.
"""
import os
import re
import sqlite3
import statistics
import sys


def seconds(text):
    """sweep's human durations: '12 s', '2 min 05 s', '1 h 03 min', '850 ms'; and the log's '12.3s', '4m05s', '2h13m'."""
    text = text.strip()
    for pattern, scale in ((r"^(\d+) h (\d+) min$", (3600, 60)), (r"^(\d+) min (\d+) s$", (60, 1)),
                           (r"^(\d+)h(\d+)m$", (3600, 60)), (r"^(\d+)m(\d+)s$", (60, 1))):
        m = re.match(pattern, text)
        if m:
            return int(m.group(1)) * scale[0] + int(m.group(2)) * scale[1]
    m = re.match(r"^([\d.]+) ?s$", text)
    if m:
        return float(m.group(1))
    m = re.match(r"^([\d.]+) ms$", text)
    if m:
        return float(m.group(1)) / 1000
    raise ValueError(f"not a duration: {text!r}")


def pct(x):
    return f"{100 * x:+.0f}%"


def grid_report(folder):
    name = os.path.basename(os.path.normpath(folder))
    plan_start, plan_end, wall = map(float, open(os.path.join(folder, "times.txt")).read().split())
    plan = open(os.path.join(folder, "plan.txt")).read()
    m = re.search(r"ETA about (.+?) run as", plan)
    plan_eta = seconds(m.group(1))
    measured = re.search(r"cost model: .*", plan).group(0)
    db = sqlite3.connect(os.path.join(folder, "results.db"))
    runs = db.execute("SELECT r.id, r.cost_estimate, r.wall_seconds, r.epochs_run, r.early_stopped, r.status, "
                      "json_extract(r.config, '$.train.epochs') FROM runs r ORDER BY r.id").fetchall()
    rows, early = [], []
    for run_id, estimate, actual, epochs_run, early_stopped, status, epochs in runs:
        if status != "done" or not actual:
            continue
        if early_stopped:
            early.append(actual / (estimate * epochs_run / epochs) - 1)
        else:
            rows.append(actual / estimate - 1)
    # The live ETA: timestamped log lines with "ETA <duration>".
    live = []
    for line in open(os.path.join(folder, "run.log")):
        m = re.match(r"^([\d.]+)\t.*ETA ([0-9hms.?]+)\]", line)
        if not m or m.group(2) == "?":
            continue
        elapsed = float(m.group(1))
        left = wall - elapsed
        if elapsed >= 0.1 * wall and left > 0:
            live.append((elapsed / wall, seconds(m.group(2)), left))
    print(f"\n## {name}: {len(runs)} runs, sweep run took {wall:.1f} s; plan took {plan_end - plan_start:.1f} s ({measured})")
    print(f"plan ETA {plan_eta:.0f} s against {wall:.1f} s: {pct(plan_eta / wall - 1)} (target +-15%)")
    if rows:
        inside = sum(abs(r) <= 0.20 for r in rows)
        print(f"per run (actual/estimate - 1) over {len(rows)} full runs: median {pct(statistics.median(rows))}, "
              f"from {pct(min(rows))} to {pct(max(rows))}; {inside}/{len(rows)} within +-20%")
    if early:
        print(f"  {len(early)} early-stopped runs against their estimate scaled to the epochs run: "
              f"from {pct(min(early))} to {pct(max(early))}")
    if live:
        errors = [abs(eta - left) / left for _, eta, left in live]
        middle = [abs(eta - left) / left for frac, eta, left in live if frac <= 0.9]
        text = f"live ETA, {len(live)} log lines after 10% of the time: median error {100 * statistics.median(errors):.0f}%"
        if middle:
            text += f", largest {100 * max(middle):.0f}% while 10-90% of the time had passed"
        text += f", {100 * max(errors):.0f}% including the last 10%"
        print(text)
    return plan_eta, wall, rows


def main(folders):
    total_plan = total_wall = 0
    all_rows = []
    for folder in folders:
        if not os.path.exists(os.path.join(folder, "times.txt")):
            continue
        plan_eta, wall, rows = grid_report(folder)
        total_plan += plan_eta
        total_wall += wall
        all_rows += rows
    if all_rows:
        inside = sum(abs(r) <= 0.20 for r in all_rows)
        print(f"\nall grids: {inside}/{len(all_rows)} runs within +-20% of their estimate; "
              f"plan ETAs summed {total_plan:.0f} s against {total_wall:.0f} s ({pct(total_plan / total_wall - 1)})")


if __name__ == "__main__":
    main(sys.argv[1:])
