"""Speed of instrumented code, as ratios against the same program run plain.

Runs pyperformance's benchmark scripts (richards, deltablue, raytrace, go,
hexiom, chaos, float, nbody, generators) plain and with every function wrapped
(``wrap_module()`` on the benchmark module before its main block), in
alternating fresh processes, and prints each wrapped/plain ratio of the best
times and their geometric mean.  It also times ``wrap_module()`` itself on
the 400-line richards module.

    pip install pyperformance      # the benchmark scripts and pyperf
    python bench/run.py [--rounds N] [NAME ...]
"""

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> how to run one iteration of the benchmark, given its module
ENTRIES = {
    "richards": lambda m: m.Richards().run(1),
    "deltablue": lambda m: m.delta_blue(100),
    "raytrace": lambda m: m.bench_raytrace(1, m.DEFAULT_WIDTH, m.DEFAULT_HEIGHT, None),
    "go": lambda m: m.versus_cpu(),
    "hexiom": lambda m: m.main(1, m.DEFAULT_LEVEL),
    "chaos": lambda m: _chaos(m),
    "float": lambda m: m.benchmark(m.POINTS),
    "nbody": lambda m: m.bench_nbody(1, m.DEFAULT_REFERENCE, m.DEFAULT_ITERATIONS),
    "generators": lambda m: _generators(m),
}


def _generators(m):
    # the traversal that bench_generators times, of the tree it builds once
    tree = getattr(m, "_bench_tree", None)
    if tree is None:
        tree = m._bench_tree = m.tree(range(100000))
    for _ in tree:
        pass


def _chaos(m):
    # what the script's main() builds before handing it to pyperf
    g = m.GVector
    splines = [
        m.Spline([g(1.597350, 3.304460, 0.0), g(1.575810, 4.123260, 0.0),
                  g(1.313210, 5.288350, 0.0), g(1.618900, 5.329910, 0.0),
                  g(2.889940, 5.502700, 0.0), g(2.373060, 4.381830, 0.0),
                  g(1.662000, 4.360280, 0.0)], 3, [0, 0, 0, 1, 1, 1, 2, 2, 2]),
        m.Spline([g(2.804500, 4.017350, 0.0), g(2.550500, 3.525230, 0.0),
                  g(1.979010, 2.620360, 0.0), g(1.979010, 2.620360, 0.0)],
                 3, [0, 0, 0, 1, 1, 1]),
        m.Spline([g(2.001670, 4.011320, 0.0), g(2.335040, 3.312830, 0.0),
                  g(2.366800, 3.233460, 0.0), g(2.366800, 3.233460, 0.0)],
                 3, [0, 0, 0, 1, 1, 1]),
    ]
    chaos = m.Chaosgame(splines, m.DEFAULT_THICKNESS)
    chaos.create_image_chaos(m.DEFAULT_WIDTH, m.DEFAULT_HEIGHT, m.DEFAULT_ITERATIONS,
                             None, m.DEFAULT_RNG_SEED)


def _script(name):
    try:
        import pyperformance
    except ImportError:
        sys.exit("bench/run.py needs the benchmark scripts: pip install pyperformance")
    path = (Path(pyperformance.__file__).parent / "data-files" / "benchmarks"
            / f"bm_{name}" / "run_benchmark.py")
    if not path.exists():
        sys.exit(f"no benchmark script at {path}; is pyperformance complete?")
    return path


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # __name__ is not "__main__": no main block
    return module


def worker(name, mode, seconds):
    """Best time of one iteration, repeated for about ``seconds``."""
    module = _load(f"bm_{name}", _script(name))
    if mode == "wrapped":
        sys.path.insert(0, str(ROOT))
        import hot_restart
        hot_restart.wrap_module(module)
    run = ENTRIES[name]
    run(module)  # warm up
    best, start = math.inf, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run(module)
        best = min(best, time.perf_counter() - t0)
    return best


def time_wrap_module(repeat=30):
    """Milliseconds for wrap_module() on fresh copies of the richards module.

    ``cold``: the file is parsed, instrumented and compiled each time.
    ``warm``: the instrumented code comes from the cache beside the .pyc.
    """
    sys.path.insert(0, str(ROOT))
    import hot_restart
    path = _script("richards")
    lines = len(path.read_text().splitlines())
    cache = Path(hot_restart._cache_path(str(path)))
    best = {}
    for kind in ("cold", "warm"):
        sys.dont_write_bytecode = kind == "cold"
        if cache.exists():
            cache.unlink()
        best[kind] = math.inf
        for i in range(repeat):
            module = _load(f"bm_richards_{kind}_{i}", path)
            hot_restart._registry.versions.clear()  # no compiled version in memory
            t0 = time.perf_counter()
            hot_restart.wrap_module(module)
            if i:  # the first warm run writes the cache
                best[kind] = min(best[kind], time.perf_counter() - t0)
    return lines, best["cold"] * 1000, best["warm"] * 1000


def _spawn(*args):
    out = subprocess.run([sys.executable, __file__, *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(ENTRIES))
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating plain/wrapped processes per benchmark")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="time each process spends repeating the benchmark")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--wrap-time", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.seconds)))
        return
    if args.wrap_time:
        print(json.dumps(time_wrap_module()))
        return
    print(f"Python {sys.version.split()[0]}, best of {args.rounds} alternating rounds "
          f"x {args.seconds:g} s")
    ratios = []
    for name in args.names:
        best = {"plain": math.inf, "wrapped": math.inf}
        for i in range(args.rounds):
            for mode in (("plain", "wrapped") if i % 2 == 0 else ("wrapped", "plain")):
                seconds = _spawn("--worker", name, mode, "--seconds", str(args.seconds))
                best[mode] = min(best[mode], seconds)
        ratio = best["wrapped"] / best["plain"]
        ratios.append(ratio)
        print(f"{name:10} plain {best['plain'] * 1000:8.2f} ms   wrapped "
              f"{best['wrapped'] * 1000:8.2f} ms   ratio {ratio:.3f}", flush=True)
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"geometric mean of wrapped/plain: {geomean:.3f}")
    lines, cold, warm = _spawn("--wrap-time")
    print(f"wrap_module() on the {lines}-line richards module: {cold:.2f} ms, "
          f"{warm:.2f} ms from the cache")


if __name__ == "__main__":
    os.environ.pop("HOT_RESTART", None)
    main()
