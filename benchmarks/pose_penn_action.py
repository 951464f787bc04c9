"""The pose heads on Penn Action's official split, from hand-labelled joints; and "unknown" on its non-exercises.

    python benchmarks/pose_penn_action.py --config presets/penn_action.py --repeats 3   # about 15 minutes
    python benchmarks/pose_penn_action.py --smoke   # random joints in Penn's format, 3 per action (CI)

Loads the 2326 sequences of ../shared/data/penn_action_keypoints (13 joints mapped onto MoveNet's 17), turns
every frame into the toolkit's pose features (the PoseFrameFeatures layer a MoveNet run uses), samples
`frames_per_video` frames per sequence, and trains the frame head (pooled by mean vote), the LSTM and the
transformer on the official train split (validation_fraction of it held out for early stopping), scoring
the official test split:

* all 15 actions;
* the 8 exercise classes on their own (a model trained on them alone);
* "unknown": that 8-class model's rejection threshold, calibrated on its validation sequences (accept_rate
  of them accepted), against the test sequences of the 7 actions that are not exercises (baseball pitch and
  swing, bowling, golf swing, tennis forehand and serve, strumming a guitar): AUROC and false accepts.

Each repeat draws another validation carve-out and training seed (seed, seed + 1, ...); figures are mean ±
standard deviation over repeats. Writes benchmarks/results/pose_penn_action.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from workout_runtime.cli import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from toolkit.config import load_config_module  # noqa: E402
from toolkit.data.penn_action import EXERCISE_ACTIONS, load_penn_action  # noqa: E402
from toolkit.evaluation.metrics import classification_report  # noqa: E402
from toolkit.evaluation.rejection import confidence_scores, rejection_report  # noqa: E402
from toolkit.models.pose_features import PoseFrameFeatures  # noqa: E402
from toolkit.temporal.heads import build_vote_head  # noqa: E402
from workout_runtime.video import uniform_indices  # noqa: E402
from toolkit.training.heads import fit_frame_head, fit_sequence_head, predict_arrays  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AGGREGATORS = ("vote", "lstm", "transformer")
PENN_ACTIONS = ("baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk", "golf_swing",
                "jump_rope", "jumping_jacks", "pullup", "pushup", "situp", "squat", "strum_guitar", "tennis_forehand",
                "tennis_serve")


def fake_penn_action(root: Path, per_action: int = 4) -> Path:
    """Random walks of 13 joints in Penn Action's file format (labels/NNNN.mat and manifest.csv): --smoke only."""
    from scipy.io import savemat

    (root / "labels").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = ["path,label,group,frames,fps,width,height,bytes,split,view"]
    for k in range(len(PENN_ACTIONS) * per_action):
        action, frames, number = PENN_ACTIONS[k % len(PENN_ACTIONS)], 12, f"{k + 1:04d}"
        x = 240 + np.cumsum(rng.normal(0, 3, (frames, 13)), axis=0) + rng.uniform(-60, 60, 13)
        y = 180 + np.cumsum(rng.normal(0, 3, (frames, 13)), axis=0) + np.linspace(-120, 120, 13)
        train = 1 if k < len(PENN_ACTIONS) * (per_action - 1) else -1
        savemat(root / "labels" / f"{number}.mat", {"action": action, "x": x, "y": y, "visibility": np.ones((frames, 13)),
                                                    "dimensions": np.array([360, 480, frames]), "train": train})
        rows.append(f"labels/{number}.mat,{action},{number},{frames},,480,360,0,{'train' if train == 1 else 'test'},")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def clips_of(sequences, frames: int) -> np.ndarray:
    """`(V, T, 64)` pose features of `frames` frames sampled uniformly from each sequence."""
    layer = PoseFrameFeatures()
    out = np.zeros((len(sequences), frames, 64), dtype=np.float32)
    for v, sequence in enumerate(sequences):
        picked = sequence["keypoints"][uniform_indices(len(sequence["keypoints"]), frames)]
        out[v, :len(picked)] = keras.ops.convert_to_numpy(layer(picked))
    return out


def train_heads(config, x, y, fit, val, classes):
    frames = {"features": x[fit].reshape(-1, x.shape[-1]), "labels": np.repeat(y[fit], x.shape[1])}
    val_frames = {"features": x[val].reshape(-1, x.shape[-1]), "labels": np.repeat(y[val], x.shape[1])}
    frame_head = fit_frame_head(frames, val_frames, classes, config, exclude=(60, 64))
    heads = {"vote": build_vote_head(frame_head, x.shape[1], "mean")}
    for aggregator in AGGREGATORS[1:]:
        heads[aggregator] = fit_sequence_head(aggregator, {"features": x[fit], "labels": y[fit]},
                                              {"features": x[val], "labels": y[val]}, classes, config, True)
    return heads


def run_task(config, sequences, classes, seed):
    """Heads trained on the sequences of `classes`; returns them with the data they saw."""
    index = {c: i for i, c in enumerate(classes)}
    chosen = [s for s in sequences if s["action"] in index]
    x = clips_of(chosen, config.frames_per_video)
    y = np.array([index[s["action"]] for s in chosen], dtype=np.int32)
    train = np.flatnonzero([s["train"] for s in chosen])
    test = np.flatnonzero([not s["train"] for s in chosen])
    val = np.random.default_rng(seed).choice(train, int(len(train) * config.validation_fraction), replace=False)
    fit = np.setdiff1d(train, val)
    heads = train_heads(config.replace(seed=seed), x, y, fit, val, len(classes))
    return heads, x, y, val, test


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "presets" / "penn_action.py"), help="a preset")
    parser.add_argument("--repeats", type=int, default=3, help="training seeds (default 3)")
    parser.add_argument("--smoke", action="store_true",
                        help="random joints in Penn Action's format in a temporary folder: checks the script runs "
                             "(CI); no figures")
    args = parser.parse_args(argv)
    config = load_config_module(args.config).validate()
    data, out = ROOT.parent / "shared" / "data" / "penn_action_keypoints", ROOT / "benchmarks" / "results"
    if args.smoke:
        import tempfile

        out = Path(tempfile.mkdtemp(prefix="smoke_penn_action_"))
        data = fake_penn_action(out / "penn")
        config = config.replace(head_epochs=1, frames_per_video=4, early_stopping_patience=1)
        args.repeats = 1
    start = time.perf_counter()
    sequences = load_penn_action(data)
    all_classes = sorted({s["action"] for s in sequences})
    others = [c for c in all_classes if c not in EXERCISE_ACTIONS]
    negatives = [s for s in sequences if s["action"] in others and not s["train"]]
    negative_clips = clips_of(negatives, config.frames_per_video)
    results = {"preset": args.config, "repeats": []}
    for r in range(args.repeats):
        seed = config.seed + r
        repeat = {"seed": seed}
        for task, classes in (("all15", all_classes), ("exercise8", list(EXERCISE_ACTIONS))):
            heads, x, y, val, test = run_task(config, sequences, classes, seed)
            repeat[task] = {}
            for aggregator, head in heads.items():
                report = classification_report(y[test], predict_arrays(head, x[test]).argmax(1), classes)
                repeat[task][aggregator] = {k: report[k] for k in ("accuracy", "balanced_accuracy", "macro_f1")}
                if task == "exercise8":
                    scores = {k: (confidence_scores(predict_arrays(head, x[test]))[k],
                                  confidence_scores(predict_arrays(head, negative_clips))[k],
                                  confidence_scores(predict_arrays(head, x[val]))[k])
                              for k in ("max_probability", "negative_entropy")}
                    repeat[task][aggregator]["rejection"] = {
                        k: rejection_report(inside, outside, float(np.quantile(val_scores, 1 - config.accept_rate)))
                        for k, (inside, outside, val_scores) in scores.items()}
        results["repeats"].append(repeat)
        print(f"repeat {r + 1}: " + ", ".join(f"{a} {repeat['all15'][a]['accuracy']:.3f}" for a in AGGREGATORS),
              flush=True)
    summary = {}
    for task in ("all15", "exercise8"):
        for aggregator in AGGREGATORS:
            values = [rep[task][aggregator]["accuracy"] for rep in results["repeats"]]
            summary[f"{task}_{aggregator}"] = (float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1
                                               else 0.0)
    for aggregator in AGGREGATORS:
        for score in ("max_probability", "negative_entropy"):
            for key in ("auroc", "false_accept", "accepted_in_distribution"):
                values = [rep["exercise8"][aggregator]["rejection"][score][key] for rep in results["repeats"]]
                summary[f"reject_{aggregator}_{score}_{key}"] = (float(np.mean(values)), float(np.std(values)))
    results.update(summary=summary, seconds=time.perf_counter() - start, sequences=len(sequences),
                   negatives=len(negatives), negative_actions=others)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pose_penn_action.json").write_text(json.dumps(results, indent=2))
    for key, (mean, std) in summary.items():
        print(f"{key:<55} {mean:.3f} ± {std:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
