#!/usr/bin/env python3
"""Latency over time of fixed-rate runs, side by side, as an SVG (no plotting library needed).

usage: latency_plot.py --out FILE.svg [--title TEXT] NAME=timeline.csv [NAME=timeline.csv ...]

Each CSV is perf/Load's --timeline output: second,count,p50_us,p99_us,p999_us,max_us. Per series the plot draws
the p99 of each second (solid) and its maximum (dotted) on a log scale, so a stall shows as the seconds it spoils.
"""
import argparse
import csv
import math
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
WIDTH, HEIGHT = 960, 480
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 50, 60


def read(path):
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["count"] == "0":
                continue
            rows.append((int(row["second"]), float(row["p99_us"]), float(row["max_us"]), float(row["p50_us"])))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="publish-ack latency per second")
    parser.add_argument("series", nargs="+")
    args = parser.parse_args()
    series = []
    for item in args.series:
        name, path = item.split("=", 1)
        series.append((name, read(path)))

    seconds = max((r[0] for _, rows in series for r in rows), default=1) + 1
    values = [v for _, rows in series for r in rows for v in (r[1], r[2])]
    low = 10 ** math.floor(math.log10(max(1.0, min(values, default=10))))
    high = 10 ** math.ceil(math.log10(max(values, default=1000)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(second):
        return LEFT + plot_w * (second + 0.5) / seconds

    def y(us):
        return TOP + plot_h * (1 - (math.log10(max(us, low)) - math.log10(low)) / (math.log10(high) - math.log10(low)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(args.title)}</text>',
           f'<text x="{WIDTH / 2}" y="36" text-anchor="middle" fill="#555">p99 of each second (solid) and its maximum (dotted), log scale</text>']
    decade = low
    while decade <= high:
        for step in (1, 2, 5):
            v = decade * step
            if v > high:
                break
            out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
            label = f"{v / 1000:g} ms" if v >= 1000 else f"{v:g} µs"
            out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    tick = max(1, seconds // 12)
    for s in range(0, seconds, tick):
        out.append(f'<line x1="{x(s):.1f}" x2="{x(s):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#333"/>')
        out.append(f'<text x="{x(s):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{s}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 20}" text-anchor="middle">second of the run</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')

    for i, (name, rows) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        p99 = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v, _, _ in rows)
        peak = " ".join(f"{x(s):.1f},{y(m):.1f}" for s, _, m, _ in rows)
        out.append(f'<polyline points="{p99}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        out.append(f'<polyline points="{peak}" fill="none" stroke="{color}" stroke-width="1" stroke-dasharray="2,3"/>')
        worst = max((r[1] for r in rows), default=0)
        legend_y = TOP + 16 + 16 * i
        out.append(f'<line x1="{LEFT + 10}" x2="{LEFT + 34}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + 40}" y="{legend_y}">{escape(name)} (worst second\'s p99 {worst / 1000:.2f} ms)</text>')
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
