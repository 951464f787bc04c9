"""Every inference path of a run and its exports, on every clip of a folder: results to compare across code changes.

    python benchmarks/inference_paths.py --run RUN --videos ../shared/data/workout4 --out before.json
    python benchmarks/inference_paths.py --run RUN --videos ../shared/data/workout4 --out after.json \\
        --compare before.json

For the run (Keras) and each export beside it (`RUN/../export/*`: SavedModel, LiteRT, ONNX), every clip goes
through `classify` (16 frames spread over the video), and the run also through `classify_with_repetitions`
(pose runs) and `timeline` (4 s windows, 1 s stride, repetitions per segment for pose runs). The first
`--timeline-clips` clips also go through each export's timeline, and through `classify_frames` and
`classify_images` (the clip's first sampled frames, already in memory). Results are rounded to 1e-4 so that a
comparison shows changes of behaviour, not of float summation order.

With --compare, prints how many results differ from the earlier file, path by path, and exits 1 if any
verdict (label, top class, segments, repetition count) changed. Run it on a checkout before a change and on one
after (BENCHMARKS.md, version 0.6).

    python benchmarks/inference_paths.py --smoke   # a tiny run, its LiteRT export, synthetic clips (CI); no figures
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def verdict_of(v) -> dict:
    return {"label": v.label, "top": v.top_label, "evidence": [v.frames_used, v.frames_with_evidence],
            "probabilities": [round(p, 4) for p in v.probabilities.values()], "span": [v.start_s, v.end_s]}


def count_of(c) -> dict | None:
    if c is None:
        return None
    return {"count": c.count, "exercise": c.exercise, "unconfirmed": c.unconfirmed,
            "repetitions": [[r.start_s, r.turn_s, r.end_s, r.label] for r in c.repetitions]}


def timeline_of(classifier, path, repetitions: bool) -> dict:
    windows, segments, counts = classifier.timeline(path, 4.0, 1.0, repetitions)
    return {"windows": [verdict_of(w) for w in windows],
            "segments": [[s.label, s.start_s, s.end_s] for s in segments],
            "counts": [count_of(c) for c in counts]}


def collect(run: Path, videos: list[Path], timeline_clips: int) -> dict:
    from toolkit.export import artifact_classifier
    from toolkit.temporal.inference import VideoClassifier
    from workout_runtime.sampling import read_frames

    backends = {"keras": VideoClassifier.from_run(run, "vote")}
    for contract in sorted((run.parent / "export").glob("*.json")):
        backends[contract.name[:-len(".json")]] = artifact_classifier(contract.with_name(contract.name[:-5]))
    pose = bool(backends["keras"].repetition_signals)
    results, started = {}, time.perf_counter()
    for k, path in enumerate(videos):
        name = str(path.relative_to(path.parents[1]))
        entry = results[name] = {}
        for backend, classifier in backends.items():
            entry[f"{backend}/classify"] = verdict_of(classifier.classify(path))
            if backend == "keras" and pose:
                verdict, count = classifier.classify_with_repetitions(path)
                entry["keras/classify_with_repetitions"] = {"verdict": verdict_of(verdict), "count": count_of(count)}
            if backend == "keras" or k < timeline_clips:
                entry[f"{backend}/timeline"] = timeline_of(classifier, path, pose and backend == "keras")
            if k < timeline_clips:
                frames = read_frames(path, 8, max_side=640).frames
                entry[f"{backend}/classify_frames"] = verdict_of(classifier.classify_frames(frames))
                entry[f"{backend}/classify_images"] = verdict_of(classifier.classify_images(frames[:1], ["x"])[0])
        print(f"{k + 1}/{len(videos)} {name} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return {"run": str(run), "backends": list(backends), "clips": results}


def verdict_changes(a, b) -> list[str]:
    """What a user would see change between two results of one path."""
    if isinstance(a, dict) and "label" in a:
        return [] if (a["label"], a["top"], a["evidence"]) == (b["label"], b["top"], b["evidence"]) else ["verdict"]
    if isinstance(a, dict) and "segments" in a:
        changes = [] if a["segments"] == b["segments"] else ["segments"]
        if [c and c["count"] for c in a["counts"]] != [c and c["count"] for c in b["counts"]]:
            changes.append("repetition counts")
        return changes
    if isinstance(a, dict) and "count" in a:
        changes = verdict_changes(a["verdict"], b["verdict"])
        return changes + ([] if (a["count"] or {}).get("count") == (b["count"] or {}).get("count") else ["count"])
    return []


def compare(before: dict, after: dict) -> int:
    changed, exact, total = {}, 0, 0
    for clip, paths in before["clips"].items():
        for path, result in paths.items():
            other = after["clips"].get(clip, {}).get(path)
            if other is None:
                changed.setdefault(path, []).append(f"{clip}: missing")
                continue
            total += 1
            exact += result == other
            for change in verdict_changes(result, other):
                changed.setdefault(path, []).append(f"{clip}: {change}")
    print(f"{exact} of {total} results identical to 1e-4; verdict changes: "
          f"{sum(map(len, changed.values()))}")
    for path, items in sorted(changed.items()):
        print(f"  {path}: {len(items)}: " + "; ".join(items[:5]))
    return 1 if changed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a run folder; its exports are read from RUN/../export")
    parser.add_argument("--videos", help="a folder of class folders of videos")
    parser.add_argument("--out", help="where to write the results (JSON)")
    parser.add_argument("--compare", help="an earlier --out file to compare with")
    parser.add_argument("--timeline-clips", type=int, default=6,
                        help="clips that also go through every export's timeline and in-memory paths (default 6)")
    parser.add_argument("--smoke", action="store_true",
                        help="a run trained for a moment, its LiteRT export and its synthetic videos, compared with "
                             "themselves (CI); no figures")
    args = parser.parse_args(argv)
    from workout_runtime.video import VIDEO_EXTENSIONS

    if args.smoke:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from smoke import tiny_trained_run
        from toolkit.export import export_run

        run = tiny_trained_run("inference_paths")
        export_run(run, run.parent / "export" / "vote.tflite", "tflite", "vote")
        args.run, args.videos, args.out = str(run), str(run.parent / "videos"), str(run.parent / "paths.json")
        args.timeline_clips = 2
        first = collect(run, sorted((run.parent / "videos").rglob("*.mp4"))[:3], args.timeline_clips)
        Path(args.out).write_text(json.dumps(first))
        args.compare = args.out
    elif not (args.run and args.videos and args.out):
        parser.error("--run, --videos and --out are required (or --smoke)")

    videos = sorted(p for p in Path(args.videos).rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
    videos = videos[:3] if args.smoke else videos
    if not videos:
        parser.error(f"no video under {args.videos!r}")
    result = collect(Path(args.run), videos, args.timeline_clips)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    if args.compare:
        return compare(json.loads(Path(args.compare).read_text()), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
