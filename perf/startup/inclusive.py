#!/usr/bin/env python3
"""Inclusive time of the main thread's frames in a Speedscope trace from `dotnet-trace collect --format Speedscope`.

usage: inclusive.py TRACE.speedscope.json [MIN_MS]

Only frames of the silo, Orleans, the hosting stack and ZoneTree are listed (the runtime's own frames would fill the
list), each with the time it was on the main thread's stack, recursion counted once.
"""
import collections
import json
import sys

KEEP = ("Platform.", "Orleans", "Microsoft.Extensions.Hosting", "Microsoft.AspNetCore", "ZoneTree")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    least = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    trace = json.load(open(sys.argv[1]))
    names = [f["name"] for f in trace["shared"]["frames"]]
    main_thread = min(trace["profiles"], key=lambda p: p["startValue"])
    total, opened, depth = collections.Counter(), {}, collections.Counter()
    for event in main_thread["events"]:
        frame, at = event["frame"], event["at"]
        if event["type"] == "O":
            if depth[frame] == 0:
                opened[frame] = at
            depth[frame] += 1
        else:
            depth[frame] -= 1
            if depth[frame] == 0:
                total[frame] += at - opened.pop(frame)
    print("| ms on the main thread | frame |")
    print("|---|---|")
    for frame, ms in total.most_common():
        if ms >= least and any(k in names[frame] for k in KEEP):
            print(f"| {ms:.0f} | `{names[frame][:140]}` |")


if __name__ == "__main__":
    main()
