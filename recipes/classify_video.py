"""Classify workout videos with a trained run: frame voting by default, or the run's LSTM.

    python recipes/classify_video.py clip.mp4 --run runs/quickstart
    python recipes/classify_video.py a.mp4 b.avi --run runs/quickstart --temporal lstm --json
    python recipes/classify_video.py workout.mp4 --run runs/quickstart --timeline --window 4 --stride 1

Prints the predicted exercise, its confidence, every class's probability and how many frames
were used. --timeline labels sliding windows across a long video and merges them into segments,
so a workout with several exercises in one file is segmented. A file that cannot be read is
reported and the others are still classified (exit status 1 if any failed). About 0.3 s per
video after start-up for custom_cnn on 2 cores. A pose run (model_name movenet_lightning or
movenet_thunder) runs MoveNet on the sampled frames (about 0.2 s or 0.5 s per 16 frames), then
its pose LSTM (--temporal lstm) or per-frame pose classifier with voting (--temporal vote).
"""

import json
import sys

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

from workout_runtime.video import VideoReadError  # noqa: E402
from toolkit.temporal.inference import VideoClassifier  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("videos", nargs="+", help="video files")
    parser.add_argument("--run", required=True, help="run folder written by a training recipe")
    parser.add_argument("--temporal", choices=("vote", "lstm"), help="aggregator (default: the run's config)")
    parser.add_argument("--vote-method", choices=("majority", "mean", "confidence"),
                        help="vote pooling method (default: the run's config)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument("--timeline", action="store_true", help="label sliding windows and print segments")
    parser.add_argument("--window", type=float, default=4.0, help="timeline window in seconds")
    parser.add_argument("--stride", type=float, default=1.0, help="timeline stride in seconds")
    args = parser.parse_args(argv)
    classifier = VideoClassifier.from_run(args.run, args.temporal, args.vote_method)
    results, failures = [], []
    for path in args.videos:
        try:
            if args.timeline:
                windows, segments = classifier.timeline(path, args.window, args.stride)
                results.append({"path": path, "segments": [vars(s) for s in segments],
                                "windows": [w.to_dict() for w in windows]})
                if not args.json:
                    print(f"{path}: {len(segments)} segment(s) from {len(windows)} windows of {args.window:g} s")
                    for s in segments:
                        print(f"  {s.start_s:7.2f}-{s.end_s:7.2f} s  {s.label}  (peak confidence {s.confidence:.2f})")
            else:
                prediction = classifier.classify(path)
                results.append(prediction.to_dict())
                if not args.json:
                    print(f"{path}: {prediction.label} ({prediction.confidence:.1%}) from {prediction.frames_used} "
                          f"frames, {classifier.description}")
                    for name, p in sorted(prediction.probabilities.items(), key=lambda kv: -kv[1]):
                        print(f"    {name:<20} {p:.3f}")
        except VideoReadError as error:
            failures.append({"path": path, "error": str(error)})
            if not args.json:
                print(f"{path}: ERROR {error}", file=sys.stderr)
    if args.json:
        print(json.dumps({"model": classifier.description, "results": results, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
