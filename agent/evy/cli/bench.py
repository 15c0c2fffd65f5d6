"""`evy bench [--quick] [NAME ...]`: run benchmarks (each module of :mod:`evy.bench` with a ``run(quick)``),
print one JSON object per line."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run benchmarks, one JSON object per line")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (CI)")
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.set_defaults(func=run_benchmarks)


def run_benchmarks(args: argparse.Namespace) -> int:
    import importlib
    import json
    import pkgutil
    import time
    import traceback

    import evy.bench

    available = sorted(m.name for m in pkgutil.iter_modules(evy.bench.__path__) if not m.name.startswith("_"))
    names = args.names or available
    failed = 0
    for name in names:
        if name not in available:
            print(f"error: no benchmark {name!r} (have {', '.join(available)})", file=sys.stderr)
            return 2
        started = time.perf_counter()
        try:
            figures = importlib.import_module(f"evy.bench.{name}").run(args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            figures, failed = {"error": f"{type(exc).__name__}: {exc}"}, failed + 1
        figures = {"benchmark": name, **figures, "wall_s": round(time.perf_counter() - started, 3)}
        print(json.dumps(figures), flush=True)
    return 1 if failed else 0
