#!/usr/bin/python3
"""Best test accuracy against wall time for bench/search/run.sh's methods.

"Best" at time t: of the runs finished (trained to their last epoch) by t,
the one with the best validation accuracy, and its test accuracy, as a user
picks. Only what finished within the budget counts. sweep's run times come
from the database: started (whole seconds) + wall_seconds, minus the launch.
"""
import argparse
import datetime
import re
import sqlite3
import statistics


def optuna_events(path, budget):
    events, pruned = [], 0
    for line in open(path):
        m = re.match(r"optuna trial=\d+ state=(\w+) epochs=\d+ val=([\d.]+) test=(\S+) t=([\d.]+)", line)
        if not m or float(m.group(4)) > budget:
            continue
        if m.group(1) == "PRUNED":
            pruned += 1
        else:
            events.append((float(m.group(4)), float(m.group(2)), float(m.group(3))))
    return sorted(events), pruned


def sweep_events(db, start_file, budget):
    launch = float(open(start_file).read())
    con = sqlite3.connect(db)
    events, pruned = [], 0
    for status, started, wall, val, test in con.execute(
            "SELECT status, started, wall_seconds, val_accuracy, test_accuracy FROM runs WHERE status IN ('done', 'pruned')"):
        began = datetime.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        t = began.timestamp() + wall - launch
        if t > budget:
            continue
        if status == "pruned":
            pruned += 1
        elif val is not None and test is not None:
            events.append((t, val, test))
    return sorted(events), pruned


def sweep_busy(db, start_file, budget, lanes=2):
    """Summed run time over lanes x elapsed: how busy sweep kept its lanes."""
    launch = float(open(start_file).read())
    con = sqlite3.connect(db)
    total, end = 0.0, 0.0
    for started, wall in con.execute("SELECT started, wall_seconds FROM runs WHERE started IS NOT NULL"):
        began = datetime.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        total += wall or 0
        end = max(end, began.timestamp() + (wall or 0) - launch)
    return total / (lanes * min(budget, end)) if end > 0 else 0.0


def best_curve(events):
    """(t, val, test) at each time the selected best changes."""
    curve, best = [], None
    for t, val, test in events:
        if best is None or val > best[1]:
            best = (t, val, test)
            curve.append(best)
    return curve


def first_reaching(curve, accuracy):
    for t, val, test in curve:
        if test >= accuracy:
            return t
    return None


def load(work, seed, budget):
    out = {}
    out["optuna tpe+hyperband (pytorch)"] = optuna_events(f"{work}/optuna_{seed}.log", budget)
    out["sweep tpe+asha"] = sweep_events(f"{work}/tpe_{seed}.db", f"{work}/tpe_{seed}.log.start", budget)
    out["sweep random"] = sweep_events(f"{work}/random_{seed}.db", f"{work}/random_{seed}.log.start", budget)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--seeds", required=True)
    p.add_argument("--budget", type=float, required=True)
    p.add_argument("--summary", action="store_true")
    a = p.parse_args()
    ratios, rows = [], []
    for seed in a.seeds.split():
        methods = load(a.work, seed, a.budget)
        optuna_curve = best_curve(methods["optuna tpe+hyperband (pytorch)"][0])
        target = optuna_curve[-1][2] if optuna_curve else None
        for name, (events, pruned) in methods.items():
            curve = best_curve(events)
            final = curve[-1] if curve else None
            reach = first_reaching(curve, target) if target is not None else None
            rows.append((seed, name, len(events), pruned, final, reach))
            if not a.summary:
                print(f"seed {seed}  {name:31s} finished {len(events):3d}  pruned {pruned:3d}  "
                      + (f"best val {final[1]:.4f} test {final[2]:.4f} at {final[0]:6.1f} s" if final else "no run finished")
                      + (f"  reaches optuna's final test {target:.4f} at {reach:6.1f} s ({reach / a.budget:.2f} of the budget)"
                         if reach is not None and target is not None and name != "optuna tpe+hyperband (pytorch)" else ""))
                if curve:
                    print("        best so far (s: test): " + ", ".join(f"{t:.0f}: {test:.4f}" for t, _, test in curve))
            if name == "sweep tpe+asha":
                ratios.append(reach / a.budget if reach is not None else None)
        if not a.summary:
            for name, stem in (("sweep tpe+asha", "tpe"), ("sweep random", "random")):
                busy = sweep_busy(f"{a.work}/{stem}_{seed}.db", f"{a.work}/{stem}_{seed}.log.start", a.budget)
                print(f"seed {seed}  {name:31s} lanes busy {100 * busy:.0f}% (summed run time / 2 lanes x elapsed)")
    if a.summary:
        print(f"{'seed':>4}  {'method':31s} {'finished':>8} {'pruned':>6}  {'best val':>8} {'its test':>8} {'at s':>6}  reaches optuna's final test at")
        for seed, name, n, pruned, final, reach in rows:
            print(f"{seed:>4}  {name:31s} {n:8d} {pruned:6d}  "
                  + (f"{final[1]:8.4f} {final[2]:8.4f} {final[0]:6.1f}" if final else f"{'-':>8} {'-':>8} {'-':>6}")
                  + ("" if name.startswith("optuna") else (f"  {reach:6.1f} s" if reach is not None else "  not reached")))
        reached = [r for r in ratios if r is not None]
        print(f"sweep tpe+asha reached Optuna's final test accuracy in {len(reached)} of {len(ratios)} seeds; "
              + (f"at {', '.join(f'{r:.2f}' for r in ratios if r is not None)} of the budget "
                 f"(median {statistics.median(reached):.2f}); goal: at most 0.33" if reached else "goal (0.33 of the budget) not met"))


if __name__ == "__main__":
    main()
