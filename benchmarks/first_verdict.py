"""Time from process start to the first verdict: the light runtime (an exported model) against the Keras run.

    python recipes/export.py --run runs/pose --format tflite
    python benchmarks/first_verdict.py --run runs/pose --model runs/pose/export/vote.tflite --video clip.mp4 \
        [--runtime-python /path/to/runtime-venv/bin/python]
    python benchmarks/first_verdict.py --smoke   # a run trained for a moment, exported to LiteRT (CI); no figures

Starts `recipes/classify_video.py VIDEO --model MODEL` and `... --run RUN` as fresh processes, alternately
(`--repeats` times each, after one warm-up of each so that the files are in the page cache), and times each
from its start to its exit, once it has printed the verdict. Reports the median of each and their ratio,
measured in this one run; say how busy the machine was. Writes benchmarks/results/first_verdict.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a run folder")
    parser.add_argument("--model", help="an artifact exported from it (.tflite or .onnx)")
    parser.add_argument("--video", help="the clip to classify")
    parser.add_argument("--repeats", type=int, default=5, help="timed starts of each (default 5)")
    parser.add_argument("--runtime-python", default=sys.executable,
                        help='the interpreter of a runtime-only install (pip install ".[runtime]" in a fresh venv) '
                             "for the --model command (default: this one)")
    parser.add_argument("--smoke", action="store_true",
                        help="a run trained for a moment on tiny synthetic videos, exported to LiteRT, in a temporary "
                             "folder (CI); no figures")
    args = parser.parse_args(argv)
    out = ROOT / "benchmarks" / "results"
    if args.smoke:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from smoke import tiny_trained_run

        run = tiny_trained_run("first_verdict")
        subprocess.run([sys.executable, str(ROOT / "recipes" / "export.py"), "--run", str(run), "--format", "tflite",
                        "--temporal", "vote"], check=True, capture_output=True, cwd=ROOT)
        args.run, args.repeats, out = str(run), 1, run.parent
        args.model = str(next((run / "export").glob("*.tflite")))
        args.video = str(next((run.parent / "videos").rglob("*.mp4")))
    elif not (args.run and args.model and args.video):
        parser.error("--run, --model and --video are required (or --smoke)")
    recipe = [str(ROOT / "recipes" / "classify_video.py"), args.video]
    commands = {"runtime (--model)": [args.runtime_python, *recipe, "--model", args.model],
                "Keras (--run)": [sys.executable, *recipe, "--run", args.run]}
    for command in commands.values():  # warm-up: files in the page cache, nothing timed
        timed(command)
    times = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            times[name].append(timed(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["Keras (--run)"] / medians["runtime (--model)"]
    for name, t in times.items():
        print(f"| {name} | {medians[name]:.2f} s median of {len(t)} ({', '.join(f'{x:.2f}' for x in t)}) |")
    print(f"Keras / runtime: {ratio:.1f}x")
    out.mkdir(parents=True, exist_ok=True)
    (out / "first_verdict.json").write_text(json.dumps({"seconds": times, "median_s": medians, "ratio": ratio,
                                                        "settings": vars(args)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
