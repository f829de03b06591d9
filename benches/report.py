#!/usr/bin/env python3
"""Turn criterion's saved estimates into SVG charts and Markdown tables.

Usage (from the crate root, after `cargo bench --bench contention`):

    python3 benches/report.py [--criterion-dir DIR] [--docs-dir DIR]
                              [--write BENCHMARKS.md] [--check]

  --criterion-dir DIR  criterion output directory. Default: $CRITERION_HOME,
                       else $CARGO_TARGET_DIR/criterion, else target/criterion
                       in the crate root (the same search criterion does).
  --docs-dir DIR       where the charts go (default: docs in the crate root):
                       one <group>.svg per workload, plus memory.svg.
  --write FILE         replace the text between `<!-- results:begin -->` and
                       `<!-- results:end -->` in FILE with the tables instead of
                       printing them; fails if FILE or the markers are missing.
  --check              exit with status 1 if a workload or memory.json is
                       missing (the report is still produced for the rest).

Input: <dir>/<group>/<implementation>/<threads>/new/{estimates,benchmark}.json
(ids are read from benchmark.json) and <dir>/memory.json. Throughput groups
report Elements / median ns as M ops/s; `wake-latency` reports median ns /
Elements (round trips per iteration) as µs per round trip. Absent groups,
implementations or thread counts are skipped or shown as `—` (exit status 1
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
# group id -> (title, kind); kind is "throughput" or "latency".
GROUPS = {
    "insert": ("Insert", "throughput"),
    "resolve-len1": ("Resolve, chain length 1", "throughput"),
    "resolve-len16": ("Resolve, chain length 16", "throughput"),
    "resolve-len1024": ("Resolve, chain length 1024", "throughput"),
    "fan-in": ("Fan-in", "throughput"),
    "scheduler-mix": ("Scheduler mix", "throughput"),
    "wake-latency": ("Wake latency", "latency"),
}
SUBJECT = "AliasTable"
# Okabe-Ito colours (colour-blind safe), one per implementation in every chart.
STYLE = {  # implementation -> (colour, marker shape)
    "AliasTable": ("#D55E00", "circle"),
    "TwoMutex": ("#0072B2", "square"),
    "RwLock": ("#009E73", "triangle"),
    "DashMap": ("#CC79A7", "diamond"),
    "Floor": ("#555555", "cross"),
    "UfRush": ("#E69F00", "down"),
}
EXTRA_COLOURS = ["#56B4E9", "#8C564B", "#17BECF", "#7F7F7F"]
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\""


def default_criterion_dir():
    """Mirror criterion's own output-directory search."""
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return ROOT / "target" / "criterion"


def warn(msg):
    """Print a note to stderr."""
    print(f"report.py: {msg}", file=sys.stderr)


def load_results(root):
    """Return {group: {impl: {threads: (median, lo, hi, elements)}}} in ns."""
    results = {}
    for bench in sorted(root.glob("**/new/benchmark.json")):
        try:
            meta = json.loads(bench.read_text())
            est = json.loads((bench.parent / "estimates.json").read_text())["median"]
        except (OSError, ValueError, KeyError) as err:
            warn(f"skipping {bench.parent}: {err}")
            continue
        tp = meta.get("throughput") or {}
        elements = tp.get("Elements") or (tp.get("ElementsAndBytes") or {}).get("elements")
        if not elements:
            warn(f"{bench.parent}: no Elements throughput, shown as missing")
        ci = est["confidence_interval"]
        point = (est["point_estimate"], ci["lower_bound"], ci["upper_bound"], elements)
        threads = str(meta.get("value_str") or "1")
        results.setdefault(meta["group_id"], {}).setdefault(meta["function_id"], {})[threads] = point
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
    if name in STYLE:
        return STYLE[name]
    return (EXTRA_COLOURS[sum(map(ord, name)) % len(EXTRA_COLOURS)], "circle")


def thread_key(t):
    """Sort thread counts numerically, non-numeric labels last."""
    return (0, int(t), "") if t.isdigit() else (1, 0, t)


def fmt(v):
    """Format a value with about three significant digits."""
    if v is None:
        return "—"
    for limit, digits in ((100, 0), (10, 1), (1, 2)):
        if abs(v) >= limit:
            return f"{v:,.{digits}f}"
    return f"{v:.3g}"


def nice_ticks(vmax, count=5):
    """Ticks 0, step, ... covering vmax, with step in {1, 2, 2.5, 5} x 10^k."""
    vmax = vmax if vmax > 0 else 1.0
    raw = vmax / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(vmax / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def marker(shape, x, y, r, colour):
    """SVG element for one data marker."""
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


def svg_doc(width, height, body):
    """Wrap chart elements in an SVG document with a white background."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT} font-size="12" fill="#222">\n'
            f'<rect width="{width}" height="{height}" fill="#fff"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def line_chart(title, kind, series, threads):
    """SVG line chart: one line per implementation over categorical thread counts."""
    w, h, left, top, right, bottom = 760, 430, 78, 62, 600, 372
    unit = "Latency per round trip (µs)" if kind == "latency" else "Throughput (M ops/s)"
    better = "lower is better" if kind == "latency" else "higher is better"
    ticks = nice_ticks(max(v[2] for s in series.values() for v in s.values()))
    xs = {t: left + (i + 0.5) * (right - left) / len(threads) for i, t in enumerate(threads)}
    y = lambda v: bottom - v / ticks[-1] * (bottom - top)  # noqa: E731
    body = [f'<text x="{left}" y="28" font-size="18" font-weight="bold">{escape(title)}</text>',
            f'<text x="{left}" y="47" fill="#666">Median of criterion samples, bars = 95% CI;'
            f' {better}</text>']
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                    f'stroke="{"#999" if t == 0 else "#e6e6e6"}"/>')
        body.append(f'<text x="{left - 8}" y="{y(t) + 4:.1f}" text-anchor="end" '
                    f'fill="#555">{t:g}</text>')
    for t, x in xs.items():
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="#999"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 20}" text-anchor="middle" fill="#555">{escape(t)}</text>')
    body.append(f'<text x="{(left + right) / 2}" y="{bottom + 44}" text-anchor="middle" '
                f'font-size="13">Threads</text>')
    body.append(f'<text transform="translate(22 {(top + bottom) / 2}) rotate(-90)" '
                f'text-anchor="middle" font-size="13">{escape(unit)}</text>')
    names = [n for n in series if n != SUBJECT] + [n for n in series if n == SUBJECT]
    for name in names:  # the subject last, so it is drawn on top
        colour, shape = style(name)
        emph = name == SUBJECT
        dash = ' stroke-dasharray="6 4"' if name == "Floor" else ""
        pts = [(xs[t], series[name].get(t)) for t in threads]
        run = []
        for x, v in pts + [(None, None)]:  # break the line at missing points
            if v is None:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                                f'stroke-width="{3.5 if emph else 2}" stroke-linejoin="round" '
                                f'opacity="{1 if emph else 0.85}"{dash}/>')
                run = []
            else:
                run.append(f"{x:.1f},{y(v[0]):.1f}")
        for x, v in pts:
            if v is None:
                continue
            cap = f'stroke="{colour}" stroke-width="1.2"'
            body.append(f'<path d="M{x:.1f},{y(v[1]):.1f}V{y(v[2]):.1f}M{x - 4:.1f},{y(v[1]):.1f}'
                        f'h8M{x - 4:.1f},{y(v[2]):.1f}h8" {cap}/>')
            body.append(f'<g><title>{escape(name)}: {fmt(v[0])}</title>'
                        f'{marker(shape, x, y(v[0]), 6 if emph else 4.5, colour)}</g>')
    for i, name in enumerate(series):
        colour, shape = style(name)
        ly = top + 8 + i * 24
        dash = ' stroke-dasharray="6 4"' if name == "Floor" else ""
        weight = ' font-weight="bold"' if name == SUBJECT else ""
        body.append(f'<line x1="{right + 24}" x2="{right + 56}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                    f'stroke-width="{3.5 if name == SUBJECT else 2}"{dash}/>')
        body.append(marker(shape, right + 40, ly, 6 if name == SUBJECT else 4.5, colour))
        body.append(f'<text x="{right + 64}" y="{ly + 4}"{weight}>{escape(name)}</text>')
    return svg_doc(w, h, body)


def bar_chart(memory):
    """SVG horizontal bar chart of bytes per reference."""
    refs, data = memory.get("refs"), memory["bytes_per_ref"]
    names = impl_order(data)
    left, right, top, row = 110, 560, 66, 34
    bottom = top + row * len(names)
    ticks = nice_ticks(max(data.values()))
    x = lambda v: left + v / ticks[-1] * (right - left)  # noqa: E731
    sub = f"{refs:,} references; lower is better" if refs else "lower is better"
    body = [f'<text x="{left}" y="28" font-size="18" font-weight="bold">Memory per reference</text>',
            f'<text x="{left}" y="47" fill="#666">{escape(sub)}</text>']
    for t in ticks:
        body.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 6}" y2="{bottom}" '
                    f'stroke="{"#999" if t == 0 else "#e6e6e6"}"/>')
        body.append(f'<text x="{x(t):.1f}" y="{bottom + 18}" text-anchor="middle" fill="#555">{t:g}</text>')
    for i, name in enumerate(names):
        by, emph = top + i * row, name == SUBJECT
        weight = ' font-weight="bold"' if emph else ""
        body.append(f'<text x="{left - 10}" y="{by + row / 2 + 1:.1f}" text-anchor="end"{weight}>'
                    f'{escape(name)}</text>')
        body.append(f'<rect x="{left}" y="{by + 6}" width="{x(data[name]) - left:.1f}" '
                    f'height="{row - 16}" fill="{style(name)[0]}" opacity="{1 if emph else 0.8}"/>')
        body.append(f'<text x="{x(data[name]) + 6:.1f}" y="{by + row / 2 + 1:.1f}"{weight}>'
                    f'{fmt(data[name])} B</text>')
    body.append(f'<text x="{(left + right) / 2}" y="{bottom + 42}" text-anchor="middle" '
                f'font-size="13">Bytes per reference</text>')
    return svg_doc(640, bottom + 60, body)


def group_table(group, title, kind, series, threads, image):
    """Markdown section for one workload: values, ratio rows, chart link."""
    what = ("Median latency per wake round trip, µs (lower is better). Ratio rows are "
            "*baseline latency / AliasTable latency*, so > 1 means AliasTable is faster."
            if kind == "latency" else
            "Median throughput, M ops/s (higher is better). Ratio rows are "
            "*AliasTable throughput / baseline throughput*, so > 1 means AliasTable is faster.")
    heads = [f"{t} thread{'' if t == '1' else 's'}" if t.isdigit() else t for t in threads]
    lines = [f"### {title} (`{group}`)", "", what, "",
             "| Implementation | " + " | ".join(heads) + " |",
             "|---|" + "---:|" * len(threads)]
    value = lambda n, t: series[n][t][0] if series[n].get(t) else None  # noqa: E731
    for name in series:
        label = f"**{name}**" if name == SUBJECT else name
        lines.append(f"| {label} | " + " | ".join(fmt(value(name, t)) for t in threads) + " |")
    if SUBJECT in series:
        for base in (n for n in series if n != SUBJECT):
            cells = []
            for t in threads:
                a, b = value(SUBJECT, t), value(base, t)
                r = None if a is None or b is None else (b / a if kind == "latency" else a / b)
                cells.append("—" if r is None else f"{r:.2f}×")
            lines.append(f"| *{SUBJECT} / {base}* | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", f"![{title}: {kind} by thread count]({image})", ""])


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


def build(crit_dir, docs_dir, link_base):
    """Write the charts; return (markdown, names of missing parts)."""
    results, missing, sections = load_results(crit_dir), [], []
    for extra in sorted(set(results) - set(GROUPS)):
        warn(f"ignoring group {extra!r} (not a known workload)")
    link = lambda name: Path(os.path.relpath(docs_dir / name, link_base)).as_posix()  # noqa: E731
    for group, (title, kind) in GROUPS.items():
        raw = results.get(group, {})
        series = {n: {t: m for t, p in raw[n].items() if (m := metric(kind, p))}
                  for n in impl_order(raw)}
        series = {n: s for n, s in series.items() if s}
        if not series:
            warn(f"no results for {group!r}, skipped")
            sections.append(f"_{title} (`{group}`): no results, skipped._\n")
            missing.append(group)
            continue
        threads = sorted({t for s in series.values() for t in s}, key=thread_key)
        docs_dir.mkdir(parents=True, exist_ok=True)
        (docs_dir / f"{group}.svg").write_text(line_chart(title, kind, series, threads), encoding="utf-8")
        sections.append(group_table(group, title, kind, series, threads, link(f"{group}.svg")))
    try:
        memory = json.loads((crit_dir / "memory.json").read_text())
        if not memory.get("bytes_per_ref"):
            raise ValueError("no bytes_per_ref")
        docs_dir.mkdir(parents=True, exist_ok=True)
        (docs_dir / "memory.svg").write_text(bar_chart(memory), encoding="utf-8")
        sections.append(memory_table(memory, link("memory.svg")))
    except (OSError, ValueError) as err:
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--criterion-dir", type=Path, default=default_criterion_dir())
    ap.add_argument("--docs-dir", type=Path, default=ROOT / "docs")
    ap.add_argument("--write", type=Path, metavar="FILE")
    ap.add_argument("--check", action="store_true", help="fail if any workload is missing")
    args = ap.parse_args()
    if not args.criterion_dir.is_dir():
        warn(f"{args.criterion_dir} is not a directory; run `cargo bench --bench contention` first")
        return 1
    if args.write and splice(args.write) is None:  # fail before writing any chart
        return 1
    link_base = args.write.resolve().parent if args.write else ROOT
    markdown, missing = build(args.criterion_dir, args.docs_dir.resolve(), link_base)
    if len(missing) == len(GROUPS) + 1:
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
