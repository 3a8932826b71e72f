"""Benchmarks live here (see DESIGN.md, performance budgets). Each benchmark is a module
``bench/bench_*.py`` with a ``main()``; this runner runs them all and prints their results."""

import importlib
import pathlib
import sys


def main() -> int:
    here = pathlib.Path(__file__).parent
    sys.path.insert(0, str(here.parent))
    modules = sorted(p.stem for p in here.glob("bench_*.py"))
    if not modules:
        print("No benchmarks yet.")
        return 0
    for name in modules:
        print(f"== {name}")
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
