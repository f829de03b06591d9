#!/usr/bin/env python3
"""Turn criterion's saved estimates into SVG charts and Markdown tables.

Usage (from the crate root, after `cargo bench --bench contention`):

    python3 benches/report.py [--criterion-dir DIR] [--docs-dir DIR]
                              [--write BENCHMARKS.md] [--check]

  --criterion-dir DIR  criterion output (default, as criterion searches it:
                       $CRITERION_HOME, $CARGO_TARGET_DIR/criterion, or
                       target/criterion in the crate root)
  --docs-dir DIR       chart output: <group>.svg per workload and memory.svg
                       (default: docs in the crate root)
  --write FILE         put the Markdown between `<!-- results:begin -->` and
                       `<!-- results:end -->` in FILE instead of on stdout;
                       fails, writing nothing, if FILE or a marker is missing
  --check              exit 1 if any workload or memory.json is missing

Input: <dir>/<group>/<implementation>/<parameter>/new/{estimates,benchmark}.json
(ids are read from benchmark.json; the parameter is the thread count, or n
for `chain-build`) and <dir>/memory.json. Throughput groups
report Elements / median ns as M ops/s; `wake-latency` reports median ns /
Elements (round trips per iteration) as µs per round trip. Absent groups,
implementations or parameter values are skipped or shown as `—` (exit status 1
only if nothing at all is found). Image links are relative to the --write
file's directory, or to the crate root when printing to stdout.
Standard library only (Python 3.8+).
"""
import argparse
import json
import math
import os
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# group id -> (title, kind, parameter); kind is "throughput" or "latency",
# parameter what the benchmark ids' value is: "threads", or "n" (chain length).
GROUPS = {
    "insert": ("Insert", "throughput", "threads"),
    "resolve-hot-len1": ("Resolve, hot set, chain length 1", "throughput", "threads"),
    "resolve-hot-len16": ("Resolve, hot set, chain length 16", "throughput", "threads"),
    "resolve-hot-len1024": ("Resolve, hot set, chain length 1024", "throughput", "threads"),
    "resolve-large": ("Resolve, large table", "throughput", "threads"),
    "chain-build": ("Chain building from the root end", "throughput", "n"),
    "fan-in": ("Fan-in", "throughput", "threads"),
    "scheduler-mix": ("Scheduler mix", "throughput", "threads"),
    "wake-latency": ("Wake latency", "latency", "threads"),
}
AXES = {"threads": "Threads", "n": "Chain length n"}  # parameter -> chart x-axis label
SUBJECT = "AliasTable"
UNITS = {  # kind -> (axis label, direction, unit suffix)
    "throughput": ("Throughput (M ops/s)", "higher is better", " M/s"),
    "latency": ("Latency per round trip (µs)", "lower is better", " µs"),
}
# Okabe-Ito colours (colour-blind safe), one per implementation in every chart.
STYLE = {  # implementation -> (colour, marker shape)
    "AliasTable": ("#D55E00", "circle"),
    "TwoMutex": ("#0072B2", "square"),
    "RwLock": ("#009E73", "triangle"),
    "DashMap": ("#CC79A7", "diamond"),
    "Floor": ("#555555", "cross"),
    "UfRush": ("#E69F00", "down"),
}
EXTRA_COLOURS = ["#56B4E9", "#8C564B", "#17BECF", "#7F7F7F"]  # for unknown implementations
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\""


def default_criterion_dir():
    """Mirror criterion's own output-directory search."""
    home, target = os.environ.get("CRITERION_HOME"), os.environ.get("CARGO_TARGET_DIR")
    return Path(home) if home else Path(target or ROOT / "target") / "criterion"


def warn(msg):
    """Print a note to stderr."""
    print(f"report.py: {msg}", file=sys.stderr)


def load_results(root):
    """Return {group: {impl: {parameter value: (median, lo, hi, elements)}}} in ns."""
    results = {}
    for bench in sorted(root.glob("**/new/benchmark.json")):
        try:
            meta = json.loads(bench.read_text())
            est = json.loads((bench.parent / "estimates.json").read_text())["median"]
            ci, group, impl = est["confidence_interval"], meta["group_id"], str(meta["function_id"])
            point = [est["point_estimate"], ci["lower_bound"], ci["upper_bound"]]
        except (OSError, ValueError, KeyError, TypeError) as err:
            warn(f"skipping {bench.parent}: {err!r}")
            continue
        tp = meta.get("throughput") or {}
        elements = tp.get("Elements") or (tp.get("ElementsAndBytes") or {}).get("elements")
        if not elements:
            warn(f"{bench.parent}: no Elements throughput, shown as missing")
        value = str(meta.get("value_str") or "1")
        results.setdefault(group, {}).setdefault(impl, {})[value] = (*point, elements)
    return results


def metric(kind, point):
    """Convert (median, lo, hi, elements) ns into (value, lo, hi) display units."""
    median, lo, hi, elements = point
    if not elements or median <= 0 or lo <= 0:
        return None
    if kind == "latency":  # µs per round trip
        return tuple(ns / elements / 1e3 for ns in (median, lo, hi))
    return tuple(elements / ns * 1e3 for ns in (median, hi, lo))  # M elements/s


def impl_order(names):
    """Known implementations in canonical order, then any others alphabetically."""
    return [n for n in STYLE if n in names] + sorted(n for n in names if n not in STYLE)


def style(name):
    """(colour, marker) for an implementation, stable across charts."""
    return STYLE.get(name, (EXTRA_COLOURS[sum(map(ord, name)) % len(EXTRA_COLOURS)], "circle"))


def heading(param, value):
    """Column heading for a parameter value: "1 thread", "4 threads", "n = 10,000"."""
    if not value.isdigit():
        return value
    if param == "n":
        return f"n = {int(value):,}"
    return f"{value} thread{'' if value == '1' else 's'}"


def tick(value):
    """x-axis label for a parameter value, digits grouped: "8", "10,000"."""
    return f"{int(value):,}" if value.isdigit() else value


def fmt(v):
    """Format a value with about three significant digits."""
    if v is None:
        return "—"
    for limit, digits in ((100, 0), (10, 1), (1, 2)):
        if abs(v) >= limit:
            return f"{v:,.{digits}f}"
    return f"{v:.3g}"


def ratio(r):
    """Format a ratio row's cell: two decimals, or two significant digits below 0.01."""
    digits = 2 if r >= 0.01 else 1 - math.floor(math.log10(r))
    return f"{r:.{digits}f}×"


def nice_ticks(vmax, count=6):
    """Ticks 0, step, ... covering vmax, with step in {1, 2, 2.5, 5} x 10^k."""
    raw = (vmax if vmax > 0 else 1.0) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [round(i * step, 10) for i in range(math.ceil(vmax / step - 1e-9) + 1)]


def marker(name, x, y):
    """SVG element for one data marker of an implementation (larger for the subject)."""
    (colour, shape), r = style(name), 6 if name == SUBJECT else 4.5
    common = f'fill="{colour}" stroke="#fff" stroke-width="1.2"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" {common}/>'
    if shape == "cross":
        d = r * 0.8
        return (f'<path d="M{x-d:.1f},{y-d:.1f}L{x+d:.1f},{y+d:.1f}M{x-d:.1f},{y+d:.1f}'
                f'L{x+d:.1f},{y-d:.1f}" stroke="{colour}" stroke-width="2.4"/>')
    pts = {"square": [(-.85, -.85), (.85, -.85), (.85, .85), (-.85, .85)],
           "triangle": [(0, -1.15), (1.05, .75), (-1.05, .75)],
           "down": [(0, 1.15), (1.05, -.75), (-1.05, -.75)],
           "diamond": [(0, -1.2), (1.2, 0), (0, 1.2), (-1.2, 0)]}[shape]
    coords = " ".join(f"{x + dx * r:.1f},{y + dy * r:.1f}" for dx, dy in pts)
    return f'<polygon points="{coords}" {common}/>'


def svg_doc(width, height, title, subtitle, body):
    """Wrap chart elements in an SVG document with a white background and a heading."""
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {FONT} font-size="12" fill="#222">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        text(24, 30, title, 'font-size="18" font-weight="bold"'),
        text(24, 50, subtitle, 'fill="#666"')] + body + ["</svg>\n"])


def text(x, y, content, attrs=""):
    """An SVG <text> element with escaped content."""
    return f'<text x="{x:.1f}" y="{y:.1f}" {attrs}>{escape(str(content))}</text>'


def stroke(name):
    """Line attributes for an implementation: the subject thick, Floor dashed."""
    emph = name == SUBJECT
    dash = ' stroke-dasharray="6 4"' if name == "Floor" else ""
    return (f'stroke="{style(name)[0]}" stroke-width="{3.5 if emph else 2}" '
            f'opacity="{1 if emph else 0.85}"{dash}')


def line_chart(title, kind, param, series, values):
    """SVG line chart: one line per implementation over categorical parameter values."""
    w, h, left, top, right, bottom = 760, 430, 78, 70, 600, 372
    unit, better, _ = UNITS[kind]
    ticks = nice_ticks(max(v[2] for s in series.values() for v in s.values()))
    xs = {t: left + (i + 0.5) * (right - left) / len(values) for i, t in enumerate(values)}
    y = lambda v: bottom - v / ticks[-1] * (bottom - top)  # noqa: E731
    body = []
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                    f'stroke="{"#999" if t == 0 else "#e6e6e6"}"/>')
        body.append(text(left - 8, y(t) + 4, f"{t:g}", 'text-anchor="end" fill="#555"'))
    for t, x in xs.items():
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" '
                    'stroke="#999"/>')
        body.append(text(x, bottom + 20, tick(t), 'text-anchor="middle" fill="#555"'))
    body.append(text((left + right) / 2, bottom + 44, AXES[param],
                     'text-anchor="middle" font-size="13"'))
    body.append(f'<text transform="translate(22 {(top + bottom) / 2}) rotate(-90)" '
                f'text-anchor="middle" font-size="13">{escape(unit)}</text>')
    for name in sorted(series, key=lambda n: n == SUBJECT):  # the subject on top
        pts = [(xs[t], series[name].get(t)) for t in values]
        run = []
        for x, v in pts + [(None, None)]:  # break the line at missing points
            if v is not None:
                run.append(f"{x:.1f},{y(v[0]):.1f}")
                continue
            if len(run) > 1:
                body.append(f'<polyline points="{" ".join(run)}" fill="none" '
                            f'stroke-linejoin="round" {stroke(name)}/>')
            run = []
        for x, v in (p for p in pts if p[1] is not None):
            lo, hi = y(v[1]), y(v[2])  # 95% CI whisker, then the marker with a tooltip
            body.append(f'<path d="M{x:.1f},{lo:.1f}V{hi:.1f}M{x - 4:.1f},{lo:.1f}h8'
                        f'M{x - 4:.1f},{hi:.1f}h8" stroke="{style(name)[0]}" stroke-width="1.2"/>')
            body.append(f'<g><title>{escape(name)}: {fmt(v[0])}</title>'
                        f'{marker(name, x, y(v[0]))}</g>')
    for i, name in enumerate(series):  # legend
        ly, bold = top + i * 24, 'font-weight="bold"' if name == SUBJECT else ""
        body.append(f'<line x1="{right + 24}" x2="{right + 56}" y1="{ly}" y2="{ly}" '
                    f'{stroke(name)}/>')
        body.append(marker(name, right + 40, ly))
        body.append(text(right + 64, ly + 4, name, bold))
    sub = f"Median of criterion samples, whiskers = 95% CI; {better}"
    return svg_doc(w, h, title, sub, body)


def bar_chart(title, subtitle, axis, values, suffix):
    """SVG horizontal bar chart, one bar per implementation; values {name: (v, lo, hi)}."""
    left, right, top, row = 110, 560, 70, 34
    bottom = top + row * len(values)
    ticks = nice_ticks(max(v[2] for v in values.values()))
    x = lambda v: left + v / ticks[-1] * (right - left)  # noqa: E731
    body = []
    for t in ticks:
        body.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 6}" y2="{bottom}" '
                    f'stroke="{"#999" if t == 0 else "#e6e6e6"}"/>')
        body.append(text(x(t), bottom + 18, f"{t:g}", 'text-anchor="middle" fill="#555"'))
    for i, name in enumerate(impl_order(values)):
        (v, lo, hi), mid, emph = values[name], top + i * row + row / 2, name == SUBJECT
        bold = 'font-weight="bold"' if emph else ""
        body.append(text(left - 10, mid + 4, name, 'text-anchor="end" ' + bold))
        body.append(f'<rect x="{left}" y="{mid - row / 2 + 8:.1f}" width="{x(v) - left:.1f}" '
                    f'height="{row - 16}" fill="{style(name)[0]}" opacity="{1 if emph else 0.8}"/>')
        if hi > lo:  # 95% CI whisker
            body.append(f'<path d="M{x(lo):.1f},{mid:.1f}H{x(hi):.1f}M{x(lo):.1f},{mid - 5:.1f}v10'
                        f'M{x(hi):.1f},{mid - 5:.1f}v10" stroke="#333" stroke-width="1.2"/>')
        body.append(text(x(max(v, hi)) + 6, mid + 4, f"{fmt(v)}{suffix}", bold))
    body.append(text((left + right) / 2, bottom + 42, axis, 'text-anchor="middle" font-size="13"'))
    return svg_doc(640, bottom + 60, title, subtitle, body)


def group_table(group, title, kind, param, series, values, image):
    """Markdown section for one workload: values, ratio rows, chart link."""
    what = ("Median latency per wake round trip, µs (lower is better). Ratio rows are "
            "*baseline latency / AliasTable latency*, so > 1 means AliasTable is faster."
            if kind == "latency" else
            "Median throughput, M ops/s (higher is better). Ratio rows are "
            "*AliasTable throughput / baseline throughput*, so > 1 means AliasTable is faster.")
    heads = [heading(param, t) for t in values]
    lines = [f"### {title} (`{group}`)", "", what, "",
             "| Implementation | " + " | ".join(heads) + " |",
             "|---|" + "---:|" * len(values)]
    value = lambda n, t: series[n][t][0] if series[n].get(t) else None  # noqa: E731
    for name in series:
        label = f"**{name}**" if name == SUBJECT else name
        lines.append(f"| {label} | " + " | ".join(fmt(value(name, t)) for t in values) + " |")
    if SUBJECT in series:
        for base in (n for n in series if n != SUBJECT):
            pairs = [(value(SUBJECT, t), value(base, t)) for t in values]
            cells = ["—" if a is None or b is None else
                     ratio(b / a if kind == "latency" else a / b) for a, b in pairs]
            lines.append(f"| *{SUBJECT} / {base}* | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", f"![{title} chart]({image})", ""])


def memory_table(memory, image):
    """Markdown section for memory per reference."""
    data, refs = memory["bytes_per_ref"], memory.get("refs")
    base = data.get(SUBJECT)
    lines = ["### Memory per reference", "",
             f"Bytes per reference{f' with {refs:,} references' if refs else ''} "
             "(lower is better); the last column is relative to AliasTable.", "",
             "| Implementation | Bytes per ref | × AliasTable |", "|---|---:|---:|"]
    for name in impl_order(data):
        rel = f"{data[name] / base:.2f}×" if base else "—"
        label = f"**{name}**" if name == SUBJECT else name
        lines.append(f"| {label} | {fmt(data[name])} | {rel} |")
    return "\n".join(lines + ["", f"![Memory per reference]({image})", ""])


def save(path, svg):
    """Write one chart, creating its directory on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")


def build(crit_dir, docs_dir, link_base):
    """Write the charts; return (markdown, names of missing parts)."""
    results, missing, sections = load_results(crit_dir), [], []
    for extra in sorted(set(results) - set(GROUPS)):
        warn(f"ignoring group {extra!r} (not a known workload)")
    link = lambda name: Path(os.path.relpath(docs_dir / name, link_base)).as_posix()  # noqa: E731
    for group, (title, kind, param) in GROUPS.items():
        raw = results.get(group, {})
        series = {n: {t: m for t, p in raw[n].items() if (m := metric(kind, p))}
                  for n in impl_order(raw)}
        series = {n: s for n, s in series.items() if s}
        if not series:
            warn(f"no results for {group!r}, skipped")
            sections.append(f"_{title} (`{group}`): no results, skipped._\n")
            missing.append(group)
            continue
        values = sorted({t for s in series.values() for t in s},  # numerically, then others
                        key=lambda t: (0, int(t), "") if t.isdigit() else (1, 0, t))
        if len(values) > 1:
            svg = line_chart(title, kind, param, series, values)
        else:  # one value (e.g. wake-latency's ping-pong pair): bars read better
            axis, better, suffix = UNITS[kind]
            sub = f"Median at {heading(param, values[0])}, whiskers = 95% CI; {better}"
            svg = bar_chart(title, sub, axis, {n: s[values[0]] for n, s in series.items()}, suffix)
        save(docs_dir / f"{group}.svg", svg)
        sections.append(group_table(group, title, kind, param, series, values,
                                    link(f"{group}.svg")))
    try:
        memory = json.loads((crit_dir / "memory.json").read_text())
        memory["bytes_per_ref"] = {k: float(v) for k, v in memory["bytes_per_ref"].items()}
        sub = (f"{memory['refs']:,} references; " if memory.get("refs") else "") + "lower is better"
        bars = {n: (v, v, v) for n, v in memory["bytes_per_ref"].items()}
        save(docs_dir / "memory.svg", bar_chart("Memory per reference", sub,
                                                "Bytes per reference", bars, " B"))
        sections.append(memory_table(memory, link("memory.svg")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        warn(f"memory.json unusable ({err}), skipped")
        sections.append("_Memory per reference: no results, skipped._\n")
        missing.append("memory")
    head = "_Generated by `python3 benches/report.py` from criterion medians._\n"
    return "\n".join([head] + sections), missing


def splice(path, markdown=""):
    """Text of path with markdown between BEGIN and END; None (and a note) if impossible."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        warn(f"cannot read {path}: {err}")
        return None
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        warn(f"{path} lacks the markers {BEGIN} ... {END}")
        return None
    return text[:start + len(BEGIN)] + "\n" + markdown.rstrip("\n") + "\n" + text[end:]


def main():
    """Parse arguments, build the report, print or write it."""
    ap = argparse.ArgumentParser(description=__doc__, usage=argparse.SUPPRESS,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--criterion-dir", type=Path, default=default_criterion_dir(), metavar="DIR")
    ap.add_argument("--docs-dir", type=Path, default=ROOT / "docs", metavar="DIR")
    ap.add_argument("--write", type=Path, metavar="FILE")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not args.criterion_dir.is_dir():
        warn(f"{args.criterion_dir} is not a directory; run `cargo bench --bench contention` first")
        return 1
    if args.write and splice(args.write) is None:  # fail before writing any chart
        return 1
    link_base = args.write.resolve().parent if args.write else ROOT
    markdown, missing = build(args.criterion_dir, args.docs_dir.resolve(), link_base)
    if len(missing) == len(GROUPS) + 1:  # charts may exist, but no text is worth writing
        warn(f"no usable results under {args.criterion_dir}; nothing to report")
        return 1
    if args.write:
        args.write.write_text(splice(args.write, markdown), encoding="utf-8")
        warn(f"updated {args.write}")
    else:
        sys.stdout.write(markdown)
    if args.check and missing:
        warn("missing: " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
