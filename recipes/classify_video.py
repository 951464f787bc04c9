"""Classify workout videos with a trained run: the exercise, its confidence, or "unknown".

    python recipes/classify_video.py clip.mp4 --run runs/quickstart
    python recipes/classify_video.py a.mp4 b.avi --run runs/pose --temporal lstm --json
    python recipes/classify_video.py workout.mp4 --run runs/pose --timeline --window 4 --stride 1
    python recipes/classify_video.py set.mp4 --run runs/pose --reps --reps-plot plots/   # pose runs
    python recipes/classify_video.py clip.mp4 --model runs/pose/export/vote.tflite   # no TensorFlow needed

Prints the predicted exercise with its confidence, every class's probability, how many frames were sampled
and how many carried evidence (for pose runs: showed a body). The verdict is "unknown" when too few frames
show a body or the top probability is below the level 95 % of the run's validation videos reach (calibrated
at training; --no-reject always names the top class). --timeline labels sliding windows across a long video
and merges them into segments, so a workout with several exercises in one file is segmented. A file that
cannot be read is reported and the others are still classified (exit status 1 if any failed). After start-up
(about 10 s: TensorFlow and the model), a 10 s clip takes about 0.3 s with EfficientNet-Lite0 and 0.2 s or
0.5 s with MoveNet Lightning or Thunder on 2 cores. --model runs a LiteRT or ONNX artifact written by
recipes/export.py with NumPy, OpenCV and that runtime only (pip install ".[runtime]"): the first verdict
comes about a second after the command starts.

--reps (pose runs) counts repetitions: each one's start, turning point and end, and the run's own verdict on
that repetition's frames alone (with a form model such as pushup_form's correct/wrong: which repetitions were
done wrong). With --timeline each segment is counted on its own exercise; "unknown" stretches are not counted.
Frames are then decoded 4 times a second instead of 16 per video, so a video longer than 4 s takes longer.
--reps-plot DIR saves the motion signal with the repetitions marked, one PNG per video or segment.
"""

import json
import sys
from pathlib import Path

from workout_runtime.cli import add_model_source, load_classifier, make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from workout_runtime.verdicts import AGGREGATORS, VOTE_METHODS  # noqa: E402
from workout_runtime.video import VideoReadError  # noqa: E402


def describe(prediction) -> str:
    evidence = f"{prediction.frames_with_evidence} of {prediction.frames_used} frames with evidence"
    if prediction.unknown:
        return (f"unknown ({prediction.unknown_reason}; top class {prediction.top_label} "
                f"{prediction.confidence:.1%}), {evidence}")
    return f"{prediction.label} ({prediction.confidence:.1%}), {evidence}"


def describe_repetitions(result, indent: str = "  ") -> list[str]:
    unconfirmed = (f" counted as {result.exercise}, an unconfirmed exercise (the verdict is unknown)"
                   if result.unconfirmed else "")
    if not result.count:
        return [f"{indent}repetitions: 0 ({result.reason or 'no whole repetition'}){unconfirmed}"]
    lines = [f"{indent}repetitions: {result.count}{unconfirmed}"]
    for k, rep in enumerate(result.repetitions, start=1):
        verdict = f"  {rep.label} ({rep.confidence:.0%})" if rep.label else ""
        lines.append(f"{indent}  {k:>3}  {rep.start_s:7.2f}-{rep.end_s:7.2f} s, turning at {rep.turn_s:.2f} s{verdict}")
    return lines


def save_plot(result, folder, name: str, title: str) -> str:
    from toolkit.evaluation.plots import plot_repetitions

    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{name}_repetitions.png"
    plot_repetitions(result, path, title)
    return str(path)


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("videos", nargs="+", help="video files")
    add_model_source(parser)
    parser.add_argument("--temporal", choices=AGGREGATORS, help="aggregator (default: the run's)")
    parser.add_argument("--vote-method", choices=VOTE_METHODS, help="vote pooling method (default: the run's)")
    parser.add_argument("--no-reject", action="store_true", help='always name the top class, never "unknown"')
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument("--timeline", action="store_true", help="label sliding windows and print segments")
    parser.add_argument("--window", type=float, default=4.0, help="timeline window in seconds")
    parser.add_argument("--stride", type=float, default=1.0, help="timeline stride in seconds")
    parser.add_argument("--reps", action="store_true",
                        help="count repetitions and judge each one (pose runs; per segment with --timeline)")
    parser.add_argument("--reps-plot", metavar="DIR", help="with --reps: save the signal with repetitions marked")
    args = parser.parse_args(argv)
    if args.reps_plot and not args.reps:
        parser.error("--reps-plot needs --reps")
    if args.window <= 0 or args.stride <= 0:
        parser.error(f"--window and --stride must be positive seconds (received {args.window}, {args.stride})")
    classifier = load_classifier(args.run, args.model, args.temporal, args.vote_method, reject=not args.no_reject)
    results, failures, stems = [], [], set()
    for path in args.videos:
        try:
            # The folder too, and a number when even that repeats (a/x/clip.mp4 and b/x/clip.mp4): clips of one
            # name must not overwrite each other's plots.
            stem = base = f"{Path(path).resolve().parent.name}_{Path(path).stem}"
            for number in range(2, len(stems) + 3):
                if stem not in stems:
                    break
                stem = f"{base}_{number}"
            stems.add(stem)
            if args.timeline:
                windows, segments, counts = classifier.timeline(path, args.window, args.stride, args.reps)
                entries = [vars(s) | ({"repetitions": c.to_dict()} if args.reps else {})
                           for s, c in zip(segments, counts or [None] * len(segments))]
                results.append({"path": path, "segments": entries, "windows": [w.to_dict() for w in windows]})
                if not args.json:
                    print(f"{path}: {len(segments)} segment(s) from {len(windows)} windows of {args.window:g} s")
                for k, (s, c) in enumerate(zip(segments, counts or [None] * len(segments)), start=1):
                    if not args.json:
                        print(f"  {s.start_s:7.2f}-{s.end_s:7.2f} s  {s.label}  (peak confidence {s.confidence:.2f})")
                    if c is not None:
                        if not args.json:
                            print("\n".join(describe_repetitions(c, "    ")))
                        if args.reps_plot and c.count:
                            entries[k - 1]["repetitions"]["plot"] = save_plot(
                                c, args.reps_plot, f"{stem}_segment{k}", f"{stem}: {s.label}, {c.count} repetitions")
            else:
                if args.reps:
                    prediction, count = classifier.classify_with_repetitions(path)
                else:
                    prediction, count = classifier.classify(path), None
                results.append(prediction.to_dict() | ({"repetitions": count.to_dict()} if count else {}))
                if not args.json:
                    print(f"{path}: {describe(prediction)}; {classifier.description}")
                    for name, p in sorted(prediction.probabilities.items(), key=lambda kv: -kv[1]):
                        print(f"    {name:<20} {p:.3f}")
                    if count:
                        print("\n".join(describe_repetitions(count)))
                if args.reps_plot and count and len(count.values):
                    results[-1]["repetitions"]["plot"] = save_plot(
                        count, args.reps_plot, stem, f"{stem}: {prediction.label}, {count.count} repetitions")
        except VideoReadError as error:
            failures.append({"path": path, "error": str(error)})
            if not args.json:
                print(f"{path}: ERROR {error}", file=sys.stderr)
    if args.json:
        print(json.dumps({"model": classifier.description, "results": results, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
