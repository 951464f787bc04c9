"""Rolling verdicts on a live source: a webcam, an RTSP/HTTP stream, or a video file played in real time.

    python recipes/classify_stream.py 0 --run runs/pose                       # the first webcam
    python recipes/classify_stream.py rtsp://camera.local/stream --run runs/pose --reconnect 5
    python recipes/classify_stream.py workout.mp4 --run runs/pose --window 4 --stride 1 --jsonl
    python recipes/classify_stream.py workout.mp4 --model runs/pose/export/vote.tflite   # no TensorFlow

Every --stride seconds it prints the verdict on the last --window seconds (the run's VideoClassifier on
num_frames frames spread over the window, the same model classify_video uses), with its latency: from the
capture of the newest frame it saw to the verdict. --jsonl prints one JSON object per verdict instead. Memory
holds only the window's frames, however long the stream runs. A file is played at its own frame rate, as a
camera would deliver it (--fast reads it as fast as it decodes, for testing). The stream ends cleanly at its
end or on Ctrl-C, with a summary on stderr; --reconnect N reopens a live stream that drops, up to N times
with a growing pause (1 s, 2 s, 4 s, ...).
"""

import json
import sys
import time

from workout_runtime.cli import add_model_source, load_classifier, make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from workout_runtime.stream import frames_of, is_live, parse_source, rolling_verdicts  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("source", help="webcam index (0, 1, ...), stream URL, or video file")
    add_model_source(parser)
    parser.add_argument("--temporal", choices=("vote", "lstm", "transformer"), help="aggregator (default: the run's)")
    parser.add_argument("--window", type=float, default=4.0, help="seconds each verdict looks back (default 4)")
    parser.add_argument("--stride", type=float, default=1.0, help="seconds between verdicts (default 1)")
    parser.add_argument("--jsonl", action="store_true", help="one JSON object per verdict")
    parser.add_argument("--no-reject", action="store_true", help='always name the top class, never "unknown"')
    parser.add_argument("--fast", action="store_true", help="read a file as fast as it decodes, not in real time")
    parser.add_argument("--reconnect", type=int, default=0, metavar="N", help="reopen a dropped live stream N times")
    args = parser.parse_args(argv)
    if args.window <= 0 or args.stride <= 0:
        parser.error(f"--window and --stride must be positive seconds (received {args.window}, {args.stride})")
    if args.reconnect < 0:
        parser.error(f"--reconnect must be 0 or more (received {args.reconnect})")
    stream = parse_source(args.source)
    if not is_live(stream):
        from pathlib import Path

        if not Path(stream).is_file():
            parser.error(f"no such file, webcam index or URL: {args.source!r}")
    classifier = load_classifier(args.run, args.model, args.temporal, reject=not args.no_reject)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say(f"classifying {args.source!r}: a verdict every {args.stride:g} s on the last {args.window:g} s "
        f"({classifier.description}); Ctrl-C to stop")
    frames = frames_of(stream, realtime=not args.fast, reconnect=args.reconnect, log=say)
    count, latencies, started = 0, [], time.monotonic()
    try:
        for verdict in rolling_verdicts(classifier, frames, args.window, args.stride):
            count += 1
            latencies.append(verdict.latency_s)
            p = verdict.prediction
            if args.jsonl:
                print(json.dumps(verdict.to_dict()), flush=True)
            else:
                label = f"unknown ({p.unknown_reason}; top {p.top_label} {p.confidence:.0%})" if p.unknown \
                    else f"{p.label} ({p.confidence:.0%})"
                print(f"{verdict.window_start_s:8.2f}-{verdict.window_end_s:8.2f} s  {label}  "
                      f"latency {verdict.latency_s * 1000:.0f} ms", flush=True)
    except KeyboardInterrupt:
        say("stopped")
    elapsed = time.monotonic() - started
    if latencies:
        ordered = sorted(latencies)
        say(f"{count} verdicts in {elapsed:.1f} s; latency median {ordered[len(ordered) // 2] * 1000:.0f} ms, "
            f"worst {ordered[-1] * 1000:.0f} ms")
    else:
        say(f"the stream ended after {elapsed:.1f} s, before a whole stride ({args.stride:g} s): no verdict")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
