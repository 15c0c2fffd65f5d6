"""`python -m evy.bench [--quick] [NAME ...]`: run benchmarks, print one JSON object per line."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback

import evy.bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evy.bench")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (CI)")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
