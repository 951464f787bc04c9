"""Repetition counting and per-repetition form, measured (BENCHMARKS.md, "Repetitions").

    python benchmarks/repetitions.py synthetic            # true joints of rendered figures, 1-20 reps, pauses
    python benchmarks/repetitions.py real                 # pushup_form clips joined per person, MoveNet
    python benchmarks/repetitions.py form --config presets/pushup_form_lightning.py --repeats 2
    python benchmarks/repetitions.py speed --config presets/pushup_form_lightning.py
    python benchmarks/repetitions.py workout4 --model movenet_thunder  # hand counts of every workout4 clip
    python benchmarks/repetitions.py run --config presets/workout4_thunder.py  # what classify_video --reps gives

MAE is the mean of |predicted - true| / true over videos, OBO the share counted within one repetition
(RepCount-A's measures). Each part writes benchmarks/results/repetitions_<part>.json.

synthetic: videos of every exercise class with 1-20 repetitions at 1-3 s each (each repetition's tempo jittered
by up to 25 %), 0-3 s pauses at rest after 30 % of repetitions, starting and ending at rest; the generator's true
joints (no pose model's errors) are turned into pose features and counted at --fps frames a second. "class-agnostic"
counts with nothing learnt; "learnt" with the ranges `learn_motion` learns from another set of videos (seed 2).
Non-exercise motions (standing still, walking, waving) are counted with the label the run would give if it
misread them as an exercise (the median exercise), to show what the counter alone does; in the classifier they
are "unknown" first and never counted.

real: benchmarks/labels/pushup_form_repetitions.csv holds hand counts of 60 pushup_form clips (how: that
folder's README). Each clip is encoded once by MoveNet at --fps frames a second and trimmed to its labelled rest
span; for every person and k = 1..12, --draws sets of k different clips of that person (numpy seed (k, person,
draw)) are joined in a random order, as one set of k clips' repetitions. Counting either knows nothing
("class-agnostic") or learns the push-up's ranges from the other persons' clips ("learnt, other persons").

form: grouped 5-fold CV on pushup_form (correct vs wrong form) with the preset's settings, --repeats fold seeds;
every held-out clip is decoded at --fps frames a second, its repetitions found, and each repetition judged alone by
the fold's run (vote and LSTM); a repetition is right when its verdict is the clip's label. Clips where no
repetition is found are scored whole ("clip fallback").

workout4: benchmarks/labels/workout4_repetitions.csv holds hand counts of 77 workout4 clips of all four exercises
(dips, pull-ups, push-ups, squats; 23 sources). The reference is the number of turning points the body reaches inside
the clip. Each clip is encoded once at --fps and counted: "class-agnostic" knows nothing; "learnt" knows the clip's
exercise and what `learn_motion` learnt from the clips of every other source (leave-one-source-out). Every counter
setting in `SETTING_GRID` is chosen per held-out source on the other sources (minimum MAE), so each clip's count comes
from settings that never saw its source. "joined" joins all clips of one source, in order, into one set: its count
against the sum of its parts' counts and against the sum of their hand counts.

run: what a user gets from `classify_video.py --reps`: grouped 5-fold CV on workout4 with the preset (fold seed
`seed`); every labelled clip of a held-out fold goes through `VideoClassifier.classify_with_repetitions` of its
fold's run (vote head, with its rejection rule: an "unknown" verdict where a body was seen is counted as the top
exercise, marked unconfirmed). The counter runs with its defaults (`DEFAULT_SETTINGS`).

speed: classify_video's work on one pose run with and without counting, on the pushup_form clips (--clips).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workout_runtime.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

from workout_runtime.repetitions import count_repetitions, learn_motion  # noqa: E402
from workout_runtime.video import uniform_indices  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LABELS = ROOT / "benchmarks" / "labels" / "pushup_form_repetitions.csv"
WORK = ROOT / "data" / "bench_repetitions"
SHARED = ROOT.parent / "shared"
NON_EXERCISE = ("standing_still", "walking", "waving")


def _brief(result):
    """The result without its per-fold, per-clip and per-set detail (those are in the JSON file)."""
    if isinstance(result, dict):
        return {k: _brief(v) for k, v in result.items()
                if k not in ("folds", "clips", "sets_detail", "mae_by_candidate")}
    return result


def scores(pairs) -> dict:
    """MAE (relative) and OBO over (predicted, true) pairs with true > 0."""
    pairs = [(p, t) for p, t in pairs if t > 0]
    if not pairs:
        return {"videos": 0}
    errors = [abs(p - t) / t for p, t in pairs]
    return {"videos": len(pairs), "mae": round(float(np.mean(errors)), 4),
            "obo": round(float(np.mean([abs(p - t) <= 1 for p, t in pairs])), 4),
            "exact": round(float(np.mean([p == t for p, t in pairs])), 4)}


def pose_features(keypoints: np.ndarray) -> np.ndarray:
    from toolkit.models.pose_features import PoseFrameFeatures
    import keras

    return keras.ops.convert_to_numpy(PoseFrameFeatures()(np.asarray(keypoints, np.float32)))


def resample(times: np.ndarray, fps: float) -> np.ndarray:
    """Indices of the frames nearest to every 1/fps seconds."""
    targets = np.arange(0, times[-1] + 1e-9, 1.0 / fps)
    return np.clip(np.searchsorted(times, targets), 0, len(times) - 1)


def render(out: Path, seed: int, videos_per_class: int, reps_range, classes) -> list[dict]:
    from toolkit.data.synthetic import SyntheticConfig, generate_dataset

    manifest = out / "manifest.csv"
    if not manifest.is_file():
        config = SyntheticConfig(classes=tuple(classes), videos_per_class=videos_per_class, num_performers=6,
                                 reps_range=reps_range, rep_seconds_range=(1.0, 3.0), max_duration_s=400,
                                 fps_choices=(15, 24, 30), resolutions=((320, 240), (240, 320)),
                                 start_at_rest=True, pause_probability=0.3, pause_seconds_range=(0.0, 3.0),
                                 tempo_jitter=0.25, record_keypoints=True, seed=seed)
        generate_dataset(out, config)
    with open(manifest) as f:
        return list(csv.DictReader(f))


def synthetic_features(folder: Path, row: dict, fps: float) -> np.ndarray:
    from toolkit.data.synthetic_motion import square_keypoints

    path = folder / row["path"]
    keypoints = np.load(path.with_suffix(".keypoints.npy"))
    keypoints = square_keypoints(keypoints, int(row["width"]), int(row["height"]))
    times = np.arange(len(keypoints)) / float(row["fps"])
    return pose_features(keypoints[resample(times, fps)])


def run_synthetic(args) -> dict:
    from toolkit.data.synthetic_motion import EXERCISES

    exercises = list(EXERCISES)
    test_dir, train_dir = WORK / "synthetic_test", WORK / "synthetic_train"
    max_reps, train_videos = (3, 1) if args.smoke else (20, 4)
    test_rows = render(test_dir, 1, args.videos_per_class, (1, max_reps), exercises + list(NON_EXERCISE))
    train_rows = render(train_dir, 2, train_videos, (1, min(6, max_reps)), exercises)
    by_class: dict[str, list] = {}
    for row in train_rows:
        by_class.setdefault(row["label"], []).append(synthetic_features(train_dir, row, args.fps))
    learnt = learn_motion(by_class, args.fps)
    results = {"class-agnostic": [], "learnt": []}
    non_exercise = {}
    median_class = sorted(learnt["classes"], key=learnt["classes"].get)[len(learnt["classes"]) // 2]
    for row in test_rows:
        features = synthetic_features(test_dir, row, args.fps)
        true = int(row["reps"])
        if row["label"] in NON_EXERCISE:
            counted = count_repetitions(features, args.fps, median_class, learnt).count
            non_exercise.setdefault(row["label"], []).append(counted)
            continue
        for name, knowledge, label in (("class-agnostic", None, None), ("learnt", learnt, row["label"])):
            results[name].append((row["label"], count_repetitions(features, args.fps, label, knowledge).count, true))
    summary = {name: {"all": scores([(p, t) for _, p, t in found]),
                      "per_class": {c: scores([(p, t) for l, p, t in found if l == c]) for c in exercises}}
               for name, found in results.items()}
    summary["non_exercise_counts"] = {k: {"videos": len(v), "counted_nonzero": int(np.sum(np.array(v) > 0)),
                                          "mean_count": round(float(np.mean(v)), 2)} for k, v in non_exercise.items()}
    summary["settings"] = {"fps": args.fps, "videos_per_class": args.videos_per_class, "reps": [1, 20],
                           "rep_seconds": [1.0, 3.0], "tempo_jitter": 0.25, "pause_probability": 0.3}
    return summary


def encode_clips(model_name: str, paths: list[Path], fps: float, cache: Path) -> dict[str, tuple]:
    """Per clip (features at `fps`, their times), encoded once and cached."""
    from toolkit.models.registry import build_encoder
    from toolkit.models.inference import GraphPredictor
    from workout_runtime.sampling import read_frames

    found = {}
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        found = {k[:-2]: (stored[k], stored[k[:-2] + ".t"]) for k in stored.files if k.endswith(".f")}
    missing = [p for p in paths if str(p) not in found]
    if missing:
        encoder = GraphPredictor(build_encoder(model_name, pose_model_dir=SHARED / "models" / "movenet"))
        for k, path in enumerate(missing):
            clip = read_frames(path, every_seconds=1.0 / fps, max_side=640)
            features = np.concatenate([encoder(clip.frames[i:i + 16]) for i in range(0, len(clip.frames), 16)])
            found[str(path)] = (features, np.asarray(clip.timestamps_s[:len(features)]))
            print(f"  encoded {k + 1}/{len(missing)} {path.name}", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for key, (f, t) in found.items():
            arrays[key + ".f"], arrays[key + ".t"] = f, t
        np.savez(cache, **arrays)
    return found


def read_labels() -> list[dict]:
    with open(LABELS) as f:
        return list(csv.DictReader(f))


def clip_path(clip: str) -> Path:
    folder = SHARED / "data" / "pushup_form" / Path(clip).parent
    return next(folder.glob(Path(clip).name + ".*"))


def run_real(args) -> dict:
    labels = [r for r in read_labels() if int(r["count"]) > 0]
    paths = [clip_path(r["clip"]) for r in labels]
    encoded = encode_clips(args.model, paths, args.fps, WORK / f"real_{args.model}_{args.fps:g}fps.npz")
    trimmed = {}
    for row, path in zip(labels, paths):
        features, times = encoded[str(path)]
        inside = (times >= float(row["rest_start_s"]) - 1e-6) & (times <= float(row["rest_end_s"]) + 1e-6)
        trimmed[row["clip"]] = features[inside]
    persons = sorted({r["person"] for r in labels})
    joined = []  # (person, k, features, true)
    for person in persons:
        mine = [r for r in labels if r["person"] == person]
        for k in range(1, 13):
            if k > len(mine):
                continue
            for draw in range(args.draws):
                rng = np.random.default_rng([k, persons.index(person), draw])
                chosen = [mine[i] for i in rng.choice(len(mine), k, replace=False)]
                joined.append((person, k, np.concatenate([trimmed[r["clip"]] for r in chosen]),
                               sum(int(r["count"]) for r in chosen)))
    learnt_without = {p: learn_motion({"push_up": [trimmed[r["clip"]] for r in labels if r["person"] != p]},
                                      args.fps) for p in persons}
    out = {}
    for name in ("class-agnostic", "learnt, other persons"):
        found = []
        for person, k, features, true in joined:
            learnt = learnt_without[person] if name.startswith("learnt") else None
            label = "push_up" if learnt else None
            found.append((person, k, count_repetitions(features, args.fps, label, learnt).count, true))
        out[name] = {"all": scores([(p, t) for _, _, p, t in found]),
                     "by_k": {f"{lo}-{hi}": scores([(p, t) for _, k, p, t in found if lo <= k <= hi])
                              for lo, hi in ((1, 1), (2, 4), (5, 8), (9, 12))},
                     "per_person": {q: scores([(p, t) for o, _, p, t in found if o == q]) for q in persons}}
    out["settings"] = {"model": args.model, "fps": args.fps, "draws": args.draws, "clips": len(labels),
                       "joined_videos": len(joined),
                       "true_reps_range": [int(min(t for *_, t in joined)), int(max(t for *_, t in joined))]}
    return out


def run_form(args) -> dict:
    from toolkit.config import load_config_module
    from toolkit.data.manifest import read_manifest
    from toolkit.data.splits import kfold_manifest
    from toolkit.temporal.inference import VideoClassifier
    from toolkit.training.trainer import train_run

    config = load_config_module(args.config)
    rows = read_manifest(ROOT / config.frames_dir)
    videos = {r["video_id"]: r for r in rows}
    video_dir = ROOT / config.video_dir
    paths = {v: next((video_dir / Path(v).parent).glob(Path(v).name + ".*")) for v in videos}
    encoded = encode_clips(config.model_name, list(paths.values()), args.fps,
                           WORK / f"form_{config.model_name}_{args.fps:g}fps.npz")
    per_fold = []
    for repeat in range(args.repeats):
        seed = config.seed + repeat
        for k, subsets in enumerate(kfold_manifest(rows, config.folds, seed, config.validation_fraction)):
            run_dir = WORK / f"form_runs/{Path(args.config).stem}/repeat_{repeat}/fold_{k}"
            if not (run_dir / "run.json").is_file() or '"complete"' not in (run_dir / "run.json").read_text():
                train_run(config.replace(seed=seed), rows, subsets, run_dir, overwrite=True,
                          aggregators=("vote", "lstm"), feature_cache_dir=ROOT / config.frames_dir / "feature_cache",
                          progress=False, log=lambda _: None)
            held_out = sorted({r["video_id"] for r, s in zip(rows, subsets) if s == "test"})
            fold = {"repeat": repeat, "fold": k}
            for aggregator in ("vote", "lstm"):
                classifier = VideoClassifier.from_run(run_dir, aggregator, reject=False)
                reps_right = reps_total = clips_right = fallback = 0
                for video in held_out:
                    features, times = encoded[str(paths[video])]
                    truth = videos[video]["label"]
                    whole = classifier.verdict(features[uniform_indices(len(features), classifier.num_frames)])
                    clips_right += whole.label == truth
                    result = classifier.count(features, times, whole.label)
                    if result.count:
                        reps_total += result.count
                        reps_right += sum(r.label == truth for r in result.repetitions)
                    else:
                        fallback += 1
                        reps_total += 1
                        reps_right += whole.label == truth
                fold[aggregator] = {"rep_accuracy": reps_right / reps_total, "repetitions": reps_total,
                                    "clip_accuracy": clips_right / len(held_out), "clips": len(held_out),
                                    "clip_fallback": fallback}
            per_fold.append(fold)
            print(f"  repeat {repeat} fold {k}: " + ", ".join(
                f"{a} rep {fold[a]['rep_accuracy']:.3f} clip {fold[a]['clip_accuracy']:.3f}"
                for a in ("vote", "lstm")), flush=True)
    summary = {}
    for aggregator in ("vote", "lstm"):
        for measure in ("rep_accuracy", "clip_accuracy"):
            values = [f[aggregator][measure] for f in per_fold]
            summary[f"{aggregator}_{measure}"] = {"mean": round(float(np.mean(values)), 4),
                                                  "std": round(float(np.std(values)), 4)}
        summary[f"{aggregator}_clip_fallback"] = int(sum(f[aggregator]["clip_fallback"] for f in per_fold))
    return {"summary": summary, "folds": per_fold,
            "settings": {"config": args.config, "repeats": args.repeats, "folds": config.folds, "fps": args.fps}}


def run_speed(args) -> dict:
    from toolkit.config import load_config_module
    from toolkit.data.manifest import read_manifest
    from toolkit.data.splits import split_manifest
    from toolkit.temporal.inference import VideoClassifier
    from toolkit.training.trainer import train_run

    config = load_config_module(args.config)
    rows = read_manifest(ROOT / config.frames_dir)
    run_dir = WORK / f"speed_run_{Path(args.config).stem}"
    if not (run_dir / "run.json").is_file() or '"complete"' not in (run_dir / "run.json").read_text():
        train_run(config, rows, split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed),
                  run_dir, overwrite=True, aggregators=("vote",),
                  feature_cache_dir=ROOT / config.frames_dir / "feature_cache", progress=False, log=lambda _: None)
    classifier = VideoClassifier.from_run(run_dir, "vote")
    labels = read_labels()[:args.clips]
    paths = [clip_path(r["clip"]) for r in labels]
    classifier.classify(paths[0])
    classifier.classify_with_repetitions(paths[0])  # warm-up: tracing
    timings = {"classify (16 frames)": [], "classify + reps": [], "count only (NumPy)": []}
    for path in paths:
        start = time.perf_counter()
        classifier.classify(path)
        timings["classify (16 frames)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        classifier.classify_with_repetitions(path)
        timings["classify + reps"].append(time.perf_counter() - start)
        features, clip, _ = classifier.encode_video(path, every_seconds=1 / args.fps)
        start = time.perf_counter()
        classifier.count(features, clip.timestamps_s, "push_up_correct")
        timings["count only (NumPy)"].append(time.perf_counter() - start)
    out = {name: round(float(np.sum(v)), 3) for name, v in timings.items()}
    out["ratio_reps_to_classify"] = round(out["classify + reps"] / out["classify (16 frames)"], 3)
    out["ratio_count_to_classify"] = round(out["count only (NumPy)"] / out["classify (16 frames)"], 4)
    out["clips"] = len(paths)
    out["seconds_of_video"] = round(float(sum(float(r["duration_s"]) for r in labels)), 1)
    return out


W4_LABELS = ROOT / "benchmarks" / "labels" / "workout4_repetitions.csv"
# A counted turning point is on time when a hand-labelled one is this close (about two frames at 4 a second).
TURN_TOLERANCE_S = 0.5


def _counter_settings():
    """The counter's tunable settings and the grid the benchmark chooses them from (empty for counters without)."""
    import workout_runtime.repetitions as repetitions

    grid = getattr(repetitions, "SETTING_GRID", None)
    if not grid:
        return [None]
    import itertools

    names = sorted(grid)
    return [repetitions.CountSettings(**dict(zip(names, values)))
            for values in itertools.product(*(grid[n] for n in names))]


def _closeness(candidate, default) -> int:
    """How many settings differ from the default (ties between equally good candidates go to the closest)."""
    if candidate is None:
        return 0
    return sum(getattr(candidate, f.name) != getattr(default, f.name) for f in dataclasses.fields(candidate))


def _count(features, fps, label, learnt, settings):
    if settings is None:
        return count_repetitions(features, fps, label, learnt)
    return count_repetitions(features, fps, label, learnt, settings=settings)


def _mae(pairs) -> float:
    return float(np.mean([abs(p - t) / t for p, t in pairs])) if pairs else 0.0


def run_workout4(args) -> dict:
    with open(W4_LABELS) as f:
        labels = [r for r in csv.DictReader(f) if r["turns"]]
    paths = [SHARED / "data" / "workout4" / (r["clip"] + ".mp4") for r in labels]
    encoded = encode_clips(args.model, paths, args.fps, WORK / f"workout4_{args.model}_{args.fps:g}fps.npz")
    return held_out_sources([(r, encoded[str(p)][0]) for r, p in zip(labels, paths)], args)


def held_out_sources(clips: list[tuple[dict, np.ndarray]], args) -> dict:
    """Counts of labelled clips (rows with clip, label, group, turns, turn_times_s, duration_s), every setting
    chosen with the clip's source held out; joined sets per source."""
    labels = [r for r, _ in clips]
    groups = sorted({r["group"] for r in labels})
    candidates = _counter_settings()
    out = {}
    for mode in ("class-agnostic", "learnt"):
        learnt_without = {}
        if mode == "learnt":
            for g in groups:
                by_class: dict[str, list] = {}
                for r, f in clips:
                    if r["group"] != g:
                        by_class.setdefault(r["label"], []).append(f)
                learnt_without[g] = learn_motion(by_class, args.fps)
        # every clip counted with every candidate setting, once
        counted = {}
        for r, f in clips:
            learnt = learnt_without.get(r["group"])
            label = r["label"] if learnt else None
            counted[r["clip"]] = [_count(f, args.fps, label, learnt, s).count for s in candidates]
        from workout_runtime.repetitions import DEFAULT_SETTINGS

        chosen_per_group, predicted, timing = {}, {}, []
        for g in groups:
            others = [(r, counted[r["clip"]]) for r, _ in clips if r["group"] != g]
            errors = [_mae([(c[k], int(r["turns"])) for r, c in others]) for k in range(len(candidates))]
            best = min(range(len(candidates)),
                       key=lambda k: (round(errors[k], 9), _closeness(candidates[k], DEFAULT_SETTINGS)))
            chosen_per_group[g] = best
            for r, f in clips:
                if r["group"] == g:
                    predicted[r["clip"]] = counted[r["clip"]][best]
                    learnt = learnt_without.get(g)
                    turns = [x.turn_s for x in _count(f, args.fps, r["label"] if learnt else None, learnt,
                                                      candidates[best]).repetitions]
                    truth = [float(t) for t in r["turn_times_s"].split()]
                    timing.append((sum(any(abs(t - u) <= TURN_TOLERANCE_S for u in truth) for t in turns),
                                   len(turns)))
        found = [(r["label"], predicted[r["clip"]], int(r["turns"])) for r, _ in clips]
        classes = sorted({r["label"] for r in labels})
        result = {"all": scores([(p, t) for _, p, t in found]),
                  "per_class": {c: scores([(p, t) for l, p, t in found if l == c]) for c in classes},
                  "longer_than_6s": scores([(predicted[r["clip"]], int(r["turns"])) for r, _ in clips
                                            if float(r["duration_s"]) > 6]),
                  "turns_within_tolerance": round(sum(m for m, _ in timing) / max(sum(n for _, n in timing), 1), 4)}
        # joined sets: every source with two or more clips, its clips in name order, as one video
        joined = []
        for g in groups:
            mine = [(r, f) for r, f in clips if r["group"] == g]
            if len(mine) < 2:
                continue
            learnt = learnt_without.get(g)
            setting = candidates[chosen_per_group[g]]
            whole = _count(np.concatenate([f for _, f in mine]), args.fps, mine[0][0]["label"] if learnt else None,
                           learnt, setting).count
            parts = sum(predicted[r["clip"]] for r, _ in mine)
            joined.append({"group": g, "clips": len(mine), "count": whole, "sum_of_part_counts": parts,
                           "hand": sum(int(r["turns"]) for r, _ in mine)})
        result["joined"] = {"sets": len(joined), "scores": scores([(j["count"], j["hand"]) for j in joined]),
                            "whole_equals_sum_of_parts": sum(j["count"] == j["sum_of_part_counts"] for j in joined),
                            "sets_detail": joined}
        if candidates[0] is not None:
            picks = [dataclasses.asdict(candidates[k]) for k in chosen_per_group.values()]
            result["settings_chosen"] = {k: sorted({str(p[k]) for p in picks}) for k in picks[0]}
            # The same choice made on every source: what the counter's defaults should be (DEFAULT_SETTINGS).
            everywhere = [_mae([(counted[r["clip"]][k], int(r["turns"])) for r, _ in clips])
                          for k in range(len(candidates))]
            result["mae_by_candidate"] = [[dataclasses.asdict(c), round(e, 5)] for c, e in zip(candidates, everywhere)]
        result["clips"] = {r["clip"]: [predicted[r["clip"]], int(r["turns"])] for r, _ in clips}
        out[mode] = result
    out["settings"] = {"model": args.model, "fps": args.fps, "labelled_clips": len(clips), "sources": len(groups),
                       "candidates": len(candidates)}
    return out


def run_through_runs(args) -> dict:
    from toolkit.config import load_config_module
    from toolkit.data.manifest import read_manifest
    from toolkit.data.splits import kfold_manifest
    from toolkit.temporal.inference import VideoClassifier
    from toolkit.training.trainer import train_run

    config = load_config_module(args.config)
    rows = read_manifest(ROOT / config.frames_dir)
    with open(W4_LABELS) as f:
        labels = {r["clip"]: r for r in csv.DictReader(f) if r["turns"]}
    found, unconfirmed, unknown_verdicts = [], 0, 0
    for k, subsets in enumerate(kfold_manifest(rows, config.folds, config.seed, config.validation_fraction)):
        run_dir = WORK / f"reps_runs/{Path(args.config).stem}/fold_{k}"
        if not (run_dir / "run.json").is_file() or '"complete"' not in (run_dir / "run.json").read_text():
            train_run(config, rows, subsets, run_dir, overwrite=True, aggregators=("vote",),
                      feature_cache_dir=ROOT / config.frames_dir / "feature_cache", progress=False, log=lambda _: None)
        classifier = VideoClassifier.from_run(run_dir, "vote")
        held_out = sorted({r["video_id"] for r, s in zip(rows, subsets) if s == "test"})
        for video in held_out:
            clip = str(Path(video).with_suffix(""))
            if clip not in labels:
                continue
            verdict, counted = classifier.classify_with_repetitions(SHARED / "data" / "workout4" / (clip + ".mp4"))
            unknown_verdicts += verdict.unknown
            unconfirmed += counted.unconfirmed is not None
            found.append((labels[clip]["label"], counted.count, int(labels[clip]["turns"]), clip))
        print(f"  fold {k}: {len(found)} clips counted", flush=True)
    classes = sorted({l for l, *_ in found})
    return {"all": scores([(p, t) for _, p, t, _ in found]),
            "per_class": {c: scores([(p, t) for l, p, t, _ in found if l == c]) for c in classes},
            "unknown_verdicts": unknown_verdicts, "counted_unconfirmed": unconfirmed,
            "clips": {c: [p, t] for _, p, t, c in found},
            "settings": {"config": args.config, "folds": config.folds, "fold_seed": config.seed}}


def smoke(args) -> int:
    """The synthetic part and `held_out_sources` on a few rendered sets with true joints, in a temporary folder."""
    import tempfile

    global WORK
    WORK = Path(tempfile.mkdtemp(prefix="smoke_repetitions_"))
    args.videos_per_class = 1
    print(json.dumps(_brief(run_synthetic(args))["class-agnostic"]["all"]))
    folder = WORK / "synthetic_test"
    with open(folder / "manifest.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] not in NON_EXERCISE][:6]
    clips = []
    for k, row in enumerate(rows):
        turns = [turn for _, turn, _ in json.loads(row["repetitions"])]
        label = {"clip": row["path"], "label": row["label"], "group": f"source_{k % 3}", "turns": str(len(turns)),
                 "turn_times_s": " ".join(f"{t:.2f}" for t in turns), "duration_s": row["duration_s"]}
        clips.append((label, synthetic_features(folder, row, args.fps)))
    print(json.dumps(_brief(held_out_sources(clips, args))["class-agnostic"]["all"]))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="?", choices=("synthetic", "real", "form", "speed", "workout4", "run"))
    parser.add_argument("--smoke", action="store_true",
                        help="the synthetic part and the held-out-source choice on a few tiny synthetic sets, in a "
                             "temporary folder (CI); no figures")
    parser.add_argument("--fps", type=float, default=4.0, help="frames a second the counter reads (the toolkit's: 4)")
    parser.add_argument("--videos-per-class", type=int, default=10, help="synthetic: videos per class")
    parser.add_argument("--model", default="movenet_thunder", help="real: the pose encoder")
    parser.add_argument("--draws", type=int, default=5, help="real: joined videos per person and k")
    parser.add_argument("--config", default="presets/pushup_form_lightning.py", help="form, speed, run: the preset")
    parser.add_argument("--repeats", type=int, default=1, help="form: fold seeds")
    parser.add_argument("--clips", type=int, default=30, help="speed: clips timed")
    args = parser.parse_args(argv)
    if args.smoke:
        return smoke(args)
    if not args.part:
        parser.error("choose a part (or --smoke)")
    runner = {"synthetic": run_synthetic, "real": run_real, "form": run_form, "speed": run_speed,
              "workout4": run_workout4, "run": run_through_runs}[args.part]
    result = runner(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = {"real": f"_{args.model}_{args.fps:g}fps", "workout4": f"_{args.model}_{args.fps:g}fps",
              "run": f"_{Path(args.config).stem}", "synthetic": f"_{args.fps:g}fps",
              "form": f"_{Path(args.config).stem}_{args.fps:g}fps", "speed": f"_{Path(args.config).stem}"}[args.part]
    path = RESULTS / f"repetitions_{args.part}{suffix}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(_brief(result), indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
