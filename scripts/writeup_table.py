#!/usr/bin/env python3
"""Print the README's "ours vs the write-up" table from the generated reports.

Usage:
    python3 scripts/writeup_table.py [--summary] [REPORT.md ...]

    REPORT.md   reports to read (default: the repository's reports/00*_*.md, in
                name order)
    --summary   also print, per write-up, how far ours is from the write-up

Reads the "Compared with the write-up" section of each report (written by
`sweep report` from the grid's `reference:` block and the measured runs) and
prints one Markdown table with a row per reference row, so that the README
quotes the reports' own figures instead of copies typed by hand. Values are
copied as the report prints them; only the labels are shortened:

- the report labels a row "LABEL (MATCH)", MATCH being the settings that
  select its runs ("variant keras-cnn, epochs 5, ..."). Where the grid gives
  a descriptive LABEL, only LABEL is kept;
- where LABEL is only the write-up's section number (000's "[0-1]") or there
  is none (003), the settings are shown instead, without "variant":
  "[0-1] learning rate 0.0001", "model1";
- footnote marks (" [1]") are dropped; the footnotes stay in the reports.

The summary gives, per write-up, the rows with an accuracy on both sides, the
median and largest |difference| in accuracy points (1 point = 0.01), how many
rows are within 0.5 points, and in how many ours is above, equal to and below
the write-up.
"""
import glob
import os
import re
import statistics
import sys
from decimal import Decimal, InvalidOperation

SECTION = "## Compared with the write-up"
SECTION_ID = re.compile(r"^\[[\d-]+\]$")  # 000's "[0-1]": the write-up's section number


def split_label(label):
    """'LABEL (MATCH)' -> (LABEL, MATCH); a label without a trailing group -> ('', label)."""
    if not label.endswith(")"):
        return "", label
    depth = 0
    for i in range(len(label) - 1, -1, -1):
        if label[i] == ")":
            depth += 1
        elif label[i] == "(":
            depth -= 1
            if depth == 0:
                if i == 0:
                    return "", label[1:-1]
                if label[i - 1] == " ":
                    return label[:i - 1], label[i + 1:-1]
                break
    return "", label


def settings_of(match):
    """'variant learning-rate, learning rate 0.0001' -> 'learning rate 0.0001'; 'variant final' -> 'final'."""
    parts = [p.strip() for p in match.split(", ")]
    if parts and parts[0].startswith("variant "):
        name = parts[0][len("variant "):]
        parts = parts[1:] or [name]
    return ", ".join(parts)


def concise(label):
    label = re.sub(r"( \[\d+\])+$", "", label)  # footnote marks
    own, match = split_label(label)
    if own and not SECTION_ID.match(own):
        return own
    settings = settings_of(match)
    return f"{own} {settings}" if own else settings


def rows_of(path):
    text = open(path, encoding="utf-8").read()
    section = text.split(SECTION, 1)
    if len(section) < 2:
        print(f"writeup_table: {path} has no '{SECTION}' section", file=sys.stderr)
        return []
    rows = []
    for line in section[1].splitlines():
        if line.startswith("## "):
            break
        if not line.startswith("| ") or line.startswith("| Configuration") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7:  # Configuration, accuracy x3, loss x2, Runs
            print(f"writeup_table: {path}: skipped a row with {len(cells)} cells: {line}", file=sys.stderr)
            continue
        rows.append((concise(cells[0]), *cells[1:6]))
    return rows


def number(cell):
    """The report's figure as an exact Decimal (no float rounding in the medians), or None for '-'."""
    try:
        return Decimal(cell)
    except InvalidOperation:
        return None


def points(d):
    """An accuracy difference in points (0.0082 -> '0.82'; a median may give '0.155')."""
    text = format((d * 100).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def summary(table):
    print()
    print("| Write-up | Rows compared | Median \\|difference\\| (points) | Largest \\|difference\\| (points) | Within 0.5 points | Ours above / equal / below |")
    print("|---|---:|---:|---|---:|---|")
    for study, rows in table:
        diffs = [(number(r[3]), r[0]) for r in rows if number(r[3]) is not None]
        if not diffs:
            continue
        sizes = [abs(d) for d, _ in diffs]
        largest, label = max(diffs, key=lambda x: abs(x[0]))
        within = sum(s <= Decimal("0.005") for s in sizes)
        above = sum(d > 0 for d, _ in diffs)
        equal = sum(d == 0 for d, _ in diffs)
        below = sum(d < 0 for d, _ in diffs)
        print(f"| {study} | {len(diffs)} of {len(rows)} | {points(statistics.median(sizes))} | "
              f"{points(abs(largest))} ({label}) | {within} | {above} / {equal} / {below} |")


def main(args):
    if "-h" in args or "--help" in args:
        print(__doc__.strip())
        return 0
    unknown = [a for a in args if a.startswith("-") and a != "--summary"]
    if unknown:
        print(f"writeup_table: unknown option {unknown[0]} (see --help)", file=sys.stderr)
        return 2
    want_summary = "--summary" in args
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    paths = [a for a in args if a != "--summary"] or sorted(glob.glob(os.path.join(root, "reports", "00*_*.md")))
    table = []
    for path in paths:
        study = re.match(r"(\d{3})", path.rsplit("/", 1)[-1])
        table.append((study.group(1) if study else path, rows_of(path)))
    print("| Write-up | Configuration | Accuracy: write-up | ours | difference | Loss: write-up | ours |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for study, rows in table:
        for label, acc, ours, diff, loss, our_loss in rows:
            print(f"| {study} | {label} | {acc} | {ours} | {diff} | {loss} | {our_loss} |")
    if want_summary:
        summary(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
