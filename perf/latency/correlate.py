#!/usr/bin/env python3
"""Lines up a fixed-rate run's latency per second with what the silo's runtime did in that second.

usage: correlate.py TIMELINE.csv COUNTERS.csv [--worst N]

TIMELINE.csv is perf/Load's --timeline output (second,count,p50_us,p99_us,p999_us,max_us,unix_ms); COUNTERS.csv is
`dotnet-counters collect --counters System.Runtime --refresh-interval 1 --format csv` of the silo during the run
(an EventPipe session: the runtime's own GC, CPU and thread-pool counters, one row per counter and second).

A latency spike the runtime explains shows up beside a GC pause or a saturated CPU in the same second; one it does
not explain (no pause, CPU to spare) points at the server's own code: a lock, a merge, a timer.
"""
import csv
import sys
from datetime import datetime, timezone

COLUMNS = {
    "dotnet.gc.pause.time (s / 1 sec)": ("gc_pause_ms", 1000.0),
    "dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen0]": ("gen0", 1.0),
    "dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen1]": ("gen1", 1.0),
    "dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen2]": ("gen2", 1.0),
    "dotnet.gc.heap.total_allocated (By / 1 sec)": ("alloc_mb", 1 / 1048576.0),
    "dotnet.process.cpu.time (s / 1 sec)[cpu.mode=user]": ("cpu_user", 1.0),
    "dotnet.process.cpu.time (s / 1 sec)[cpu.mode=system]": ("cpu_sys", 1.0),
    "dotnet.thread_pool.queue.length ({work_item} / 1 sec)": ("tp_queue", 1.0),
    "dotnet.monitor.lock_contentions ({contention} / 1 sec)": ("contentions", 1.0),
}


def read_counters(path):
    per_second = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            name = row["Counter Name"]
            if name not in COLUMNS:
                continue
            key, scale = COLUMNS[name]
            stamp = datetime.strptime(row["Timestamp"], "%m/%d/%Y %H:%M:%S").replace(tzinfo=timezone.utc)
            second = int(stamp.timestamp())
            per_second.setdefault(second, {})[key] = float(row["Mean/Increment"]) * scale
    return per_second


def read_timeline(path):
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if not row["p99_us"]:
                continue
            rows.append({"second": int(row["second"]), "count": int(row["count"]), "p50": float(row["p50_us"]),
                         "p99": float(row["p99_us"]), "max": float(row["max_us"]), "unix": int(row["unix_ms"]) // 1000})
    return rows


def pearson(xs, ys):
    n = len(xs)
    if n < 3:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else float("nan")


def main():
    args = sys.argv[1:]
    worst = 10
    if "--worst" in args:
        i = args.index("--worst")
        worst = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    timeline, counters = read_timeline(args[0]), read_counters(args[1])
    joined = []
    for row in timeline:
        # A counter row stamped T covers the second that ends at T: the run's second [U, U+1) is mostly in T = U+1.
        c = counters.get(row["unix"] + 1) or counters.get(row["unix"]) or {}
        joined.append({**row, **{k: c.get(k, 0.0) for k, _ in COLUMNS.values()}})
    if not joined:
        sys.exit("no seconds to compare")
    print(f"{len(joined)} seconds; p99 per second: median {sorted(r['p99'] for r in joined)[len(joined) // 2] / 1000:.2f} ms, "
          f"worst {max(r['p99'] for r in joined) / 1000:.2f} ms")
    print(f"correlation over the seconds: max latency ~ GC pause {pearson([r['gc_pause_ms'] for r in joined], [r['max'] for r in joined]):.2f}, "
          f"p99 ~ GC pause {pearson([r['gc_pause_ms'] for r in joined], [r['p99'] for r in joined]):.2f}, "
          f"p99 ~ CPU {pearson([r['cpu_user'] + r['cpu_sys'] for r in joined], [r['p99'] for r in joined]):.2f}")
    with_gc = [r for r in joined if r["gen1"] + r["gen2"] > 0]
    without = [r for r in joined if r["gen1"] + r["gen2"] == 0]
    for name, rows in (("with a gen1/gen2 collection", with_gc), ("without one", without)):
        if rows:
            print(f"seconds {name}: {len(rows)}, mean p99 {sum(r['p99'] for r in rows) / len(rows) / 1000:.2f} ms, "
                  f"mean max {sum(r['max'] for r in rows) / len(rows) / 1000:.2f} ms, mean GC pause {sum(r['gc_pause_ms'] for r in rows) / len(rows):.1f} ms")
    print()
    print(f"the {worst} worst seconds by p99:")
    print("| second | msgs | p50 ms | p99 ms | max ms | GC pause ms | gen0/1/2 | alloc MB | CPU s (user+sys) | pool queue | lock contentions |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(joined, key=lambda r: -r["p99"])[:worst]:
        print(f"| {r['second']} | {r['count']} | {r['p50'] / 1000:.2f} | {r['p99'] / 1000:.2f} | {r['max'] / 1000:.2f} | {r['gc_pause_ms']:.1f} | "
              f"{r['gen0']:.0f}/{r['gen1']:.0f}/{r['gen2']:.0f} | {r['alloc_mb']:.0f} | {r['cpu_user'] + r['cpu_sys']:.2f} | {r['tp_queue']:.0f} | {r['contentions']:.0f} |")


if __name__ == "__main__":
    main()
