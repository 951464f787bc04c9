"""What "unknown" does under grouped cross-validation, pooled over each fold seed's held-out videos.

    python recipes/cross_validate.py --config presets/workout4_lightning_negatives.py --repeats 3 \
        --out runs/cv_workout4_lightning_negatives
    python benchmarks/rejection_cv.py runs/cv_workout4_lightning_negatives [more CV folders...]
    python benchmarks/rejection_cv.py --smoke   # a 2-fold CV of tiny synthetic videos and negatives (CI)

Reads the folds a cross-validation wrote (each held-out video's probabilities and each fold's own calibrated
rule, `repeat_<r>/fold_<k>/`), pools every held-out video of a fold seed (each video is held out once per
seed), and reports per aggregator, as mean ± standard deviation over the fold seeds:

* exercises refused: real exercise videos of sources the run never saw that its rule calls "unknown"
  (goal <= 0.03), with the 95 % Wilson interval of all seeds pooled;
* exercises accepted and right, and accuracy of the top exercise (what the classification rows report);
* negatives accepted: non-exercise videos of sources never seen that the rule names an exercise (goal <= 0.05),
  and, as the limit the scores allow, those accepted by an oracle threshold set on the held-out videos
  themselves to accept 97 % of their exercises;
* AUROC of each candidate score for exercises against negatives (goal >= 0.95); a video without evidence
  scores lowest. Scores of the heads: the top exercise probability, 1 - P(other). Scores of distance in the
  clip-embedding space (each clip: the mean and standard deviation of its frames' encoder features, from the
  feature cache), fitted per fold on the training exercise clips only: minus the Mahalanobis distance
  (Ledoit-Wolf covariance) and minus the distance to the 3rd nearest training exercise clip (standardised
  features). Energy and max-logit are not measured: the heads end in a softmax (and voting pools
  probabilities), so their logits are not a model output.

Writes `benchmarks/results/rejection_cv.json`, a markdown table on stdout and `rejection_cv.png`
(each score's distribution for exercises and negatives, with every fold's threshold).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from toolkit.data.manifest import read_manifest, rows_by_video  # noqa: E402
from toolkit.data.negatives import negatives_frames_dir, read_negative_rows
from toolkit.evaluation.rejection import rejection_report
from toolkit.training.calibration import wilson_interval
from workout_runtime.verdicts import OTHER, REJECTION_SCORES, exercise_scores, rule_from_info

ROOT = Path(__file__).resolve().parents[1]
SCORES = (*REJECTION_SCORES, "mahalanobis", "knn")
DISTANCE_SCORES = ("mahalanobis", "knn")
AGGREGATORS = {"video_mean": "vote", "video_majority": "vote", "video_lstm": "lstm",
               "video_transformer": "transformer"}


def _embeddings(fold: Path, cache: dict) -> dict[str, np.ndarray]:
    """Per video of the fold's split: the mean and standard deviation of its frames' cached features (evidence
    frames only; zeros without any)."""
    config = json.loads((fold / "config.json").read_text())
    info = json.loads((fold / "run.json").read_text())
    frames_dir = Path(config["frames_dir"])
    key = (str(frames_dir), config.get("negatives"), info["model_name"], info["frame_size"])
    if key not in cache:
        rows = read_manifest(frames_dir)
        if config.get("negatives"):
            rows += read_negative_rows(negatives_frames_dir(config["negatives"], frames_dir), rows)
        size = f"S{info['frame_size']}" if info["frame_size"] else "any"
        files = sorted((frames_dir / "feature_cache").glob(f"{info['model_name'].replace('+', '_')}-*-{size}.npz"),
                       key=lambda f: f.stat().st_mtime)
        if not files:
            cache[key] = None
            return None
        with np.load(files[-1]) as data:  # the newest cache of this encoder: the one the CV just wrote
            # Keyed by frame path as the CV read it (relative or not): compare resolved paths.
            features = {str(Path(k).resolve()): v for k, v in zip(data["paths"].tolist(), data["features"])}
        out = {}
        for video, frames in rows_by_video(rows).items():
            paths = [str(Path(r["abs_path"]).resolve()) for r in frames]
            x = np.stack([features[p] for p in paths if p in features] or [np.zeros(1)])
            x = x[np.any(x != 0, axis=1)]
            out[video] = np.r_[x.mean(0), x.std(0)] if len(x) else None
        cache[key] = out
    return cache[key]


def distance_scores(embeddings: dict, train_ids, test_ids) -> dict[str, np.ndarray]:
    """Minus the Mahalanobis and the 3rd-nearest-neighbour distances of test clips to the training exercise clips."""
    from sklearn.covariance import LedoitWolf

    train = np.stack([embeddings[v] for v in train_ids if embeddings.get(v) is not None])
    mean, std = train.mean(0), train.std(0) + 1e-6
    z_train = (train - mean) / std
    covariance = LedoitWolf().fit(z_train)
    out = {s: np.full(len(test_ids), -np.inf) for s in DISTANCE_SCORES}
    for i, video in enumerate(test_ids):
        if embeddings.get(video) is None:
            continue  # no evidence: the lowest score
        z = (embeddings[video] - mean) / std
        out["mahalanobis"][i] = -float(covariance.mahalanobis(z[None])[0])
        distances = np.sort(np.linalg.norm(z_train - z, axis=1))
        out["knn"][i] = -float(distances[min(2, len(distances) - 1)])
    return out


def pooled(cv_dir: Path) -> dict:
    """{aggregator: [per fold seed: {...}]} from a cross-validation folder."""
    out: dict[str, list[dict]] = {}
    cache: dict = {}
    for repeat in sorted(cv_dir.glob("repeat_*")):
        per_aggregator: dict[str, dict] = {}
        for fold in sorted(repeat.glob("fold_*")):
            if not (fold / "fold_reports.json").is_file():
                continue  # a fold still training, or never finished
            saved = json.loads((fold / "fold_reports.json").read_text())
            reports = saved.get("reports", saved)
            info = json.loads((fold / "run.json").read_text())
            classes = info["class_names"]
            other = classes.index(OTHER) if OTHER in classes else None
            embeddings = _embeddings(fold, cache)
            distances = None
            for name, aggregator in AGGREGATORS.items():
                if name not in reports or "clips" not in reports[name]:
                    continue
                clips = reports[name]["clips"]
                settings = info["aggregators"][aggregator]
                rule = rule_from_info(settings)
                probabilities = np.asarray(clips["probabilities"])
                labels, evidence = np.asarray(clips["labels"]), np.asarray(clips["evidence"])
                refused = np.array([rule.judge(p, int(e), info["num_frames"]) is not None
                                    for p, e in zip(probabilities, evidence)])
                # Each operating point the fold's calibration recorded, judged on the same videos.
                by_point = {}
                for point in ("accept_rate", "balanced"):
                    threshold = settings.get(f"threshold_{point}")
                    if threshold is not None:
                        alternative = dataclasses.replace(rule, threshold=threshold)
                        by_point[point] = [alternative.judge(p, int(e), info["num_frames"]) is not None
                                           for p, e in zip(probabilities, evidence)]
                seen = evidence >= max(1.0, rule.min_evidence * info["num_frames"])
                entry = per_aggregator.setdefault(name, {"labels": [], "refused": [], "right": [], "scores": {
                    s: [] for s in (*REJECTION_SCORES, *DISTANCE_SCORES)}, "thresholds": [], "videos": [],
                    "rule_score": rule.score, "points": {}})
                for point, decisions in by_point.items():
                    entry["points"].setdefault(point, []).extend(decisions)
                is_exercise = labels != other if other is not None else np.ones(len(labels), bool)
                exercise_probabilities = probabilities if other is None else np.delete(probabilities, other, 1)
                exercise_labels = labels if other is None else np.where(labels > other, labels - 1, labels)
                entry["labels"] += is_exercise.tolist()
                entry["refused"] += refused.tolist()
                entry["right"] += (exercise_probabilities.argmax(1) == exercise_labels).tolist()
                entry["videos"] += clips["video_ids"]
                entry["thresholds"].append(rule.threshold)
                for score in REJECTION_SCORES:
                    entry["scores"][score] += np.where(seen, exercise_scores(probabilities, other, score),
                                                       0.0).tolist()
                if embeddings is not None:
                    if distances is None:  # one per fold: it does not depend on the aggregator
                        with open(fold / "split.csv", newline="") as f:
                            split = list(csv.DictReader(f))
                        train_ids = [r["video_id"] for r in split if r["subset"] == "train" and r["label"] != OTHER]
                        distances = distance_scores(embeddings, train_ids, clips["video_ids"])
                    for score in DISTANCE_SCORES:
                        entry["scores"][score] += np.where(seen, distances[score], -np.inf).tolist()
        for name, entry in per_aggregator.items():
            out.setdefault(name, []).append(entry)
    return out


def seed_figures(entry: dict) -> dict:
    exercise = np.asarray(entry["labels"], bool)
    refused, right = np.asarray(entry["refused"], bool), np.asarray(entry["right"], bool)
    figures = {"exercises": int(exercise.sum()), "exercises_refused_count": int(refused[exercise].sum()),
               "exercises_refused": float(refused[exercise].mean()),
               "accuracy": float(right[exercise].mean()),
               "accepted_and_right": float((right & ~refused)[exercise].mean()),
               "negatives": int((~exercise).sum())}
    classes = np.asarray([v.split("/")[0] for v in entry["videos"]])  # video ids are <class>/<video>
    for point, decisions in entry["points"].items():
        if len(decisions) == len(exercise):
            decisions = np.asarray(decisions, bool)
            figures[f"{point}_exercises_refused"] = float(decisions[exercise].mean())
            figures[f"{point}_refused_by_class"] = {c: [int(decisions[exercise & (classes == c)].sum()),
                                                       int((exercise & (classes == c)).sum())]
                                                   for c in sorted(set(classes[exercise]))}
            if (~exercise).any():
                figures[f"{point}_negatives_accepted"] = float((~decisions[~exercise]).mean())
    if (~exercise).any():
        figures["negatives_accepted_count"] = int((~refused[~exercise]).sum())
        figures["negatives_accepted"] = float((~refused[~exercise]).mean())
        # The separation limit: negatives accepted by a threshold set on these held-out videos themselves to
        # accept 97 % of their exercises (an oracle no run has; it shows what the scores allow).
        rule_scores = np.asarray(entry["scores"][entry["rule_score"]], dtype=float)
        oracle = np.quantile(rule_scores[exercise], 0.03)
        figures["negatives_accepted_at_97_oracle"] = float((rule_scores[~exercise] >= oracle).mean())
        figures["auroc"] = {}
        for s, v in entry["scores"].items():
            if len(v) == len(exercise):
                v = np.nan_to_num(np.asarray(v, dtype=float), neginf=-1e9)
                figures["auroc"][s] = rejection_report(v[exercise], v[~exercise], None)["auroc"]
        figures["accepted_negatives"] = sorted(v for v, e, r in zip(entry["videos"], exercise, refused)
                                               if not e and not r)
    return figures


def mean_std(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(cv, name, seeds) for cv, by_name in results.items() for name, seeds in by_name.items()]
    fig, axes = plt.subplots(len(rows), 1, figsize=(7, 1.9 * len(rows) + 0.6), squeeze=False)
    for ax, (cv, name, seeds) in zip(axes[:, 0], rows):
        score = seeds[0]["rule_score"]
        exercise = np.concatenate([np.asarray(s["labels"], bool) for s in seeds])
        values = np.concatenate([np.asarray(s["scores"][score]) for s in seeds])
        bins = np.linspace(0, 1, 41)
        ax.hist(values[exercise], bins, alpha=0.6, label="exercises (held out)", color="#4c72b0", density=True)
        if (~exercise).any():
            ax.hist(values[~exercise], bins, alpha=0.6, label="negatives (sources never seen)", color="#dd8452",
                    density=True)
        for threshold in [t for s in seeds for t in s["thresholds"] if t is not None]:
            ax.axvline(threshold, color="#c44e52", linewidth=0.6, alpha=0.5)
        ax.set_title(f"{Path(cv).name}: {name} ({score}; red: each fold's threshold)", fontsize=8)
        ax.set_yticks([])
        ax.legend(fontsize=7, loc="upper center")
    axes[-1, 0].set_xlabel("exercise score")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def smoke_cross_validation() -> tuple[Path, Path]:
    """(a CV folder, a work folder): recipes/cross_validate.py run on tiny synthetic exercises and negatives."""
    import subprocess

    from smoke import tiny_frames, tiny_videos, work_dir
    from toolkit.data.synthetic_motion import NON_EXERCISES

    work = work_dir("rejection_cv")
    frames = tiny_frames(work / "frames", tiny_videos(work / "videos", videos_per_class=4), 2)
    negatives = tiny_videos(work / "negatives", tuple(NON_EXERCISES), videos_per_class=2)
    with open(negatives / "manifest.csv", newline="") as f:  # other people than the exercises' performers
        rows = list(csv.DictReader(f))
    with open(negatives / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(dict(r, group=f"walker_{r['group']}") for r in rows)
    config = work / "smoke_config.py"
    config.write_text(f"model_name = 'custom_cnn'\nframes_dir = {str(frames)!r}\nnegatives = {str(negatives)!r}\n"
                      "image_size = 64\nframes_per_video = 2\nhead_epochs = 1\nepochs = 1\nbatch_size = 8\n"
                      "early_stopping_patience = 1\nfolds = 2\ncalibration_folds = 0\nvalidation_fraction = 0.25\n")
    cv = work / "cv"
    subprocess.run([sys.executable, str(ROOT / "recipes" / "cross_validate.py"), "--config", str(config), "--out",
                    str(cv), "--repeats", "1"], check=True, cwd=work, capture_output=True)
    return cv, work


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cv_dirs", nargs="*", help="folders written by recipes/cross_validate.py")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="where the JSON and PNG go")
    parser.add_argument("--smoke", action="store_true",
                        help="a 2-fold CV of tiny synthetic videos and negatives in a temporary folder (CI); "
                             "no figures")
    args = parser.parse_args(argv)
    if args.smoke:
        cv, work = smoke_cross_validation()
        args.cv_dirs, args.out = [str(cv)], str(work)
    elif not args.cv_dirs:
        parser.error("give one or more cross-validation folders (or --smoke)")
    results, summary = {}, {}
    print("| CV folder | aggregator | fold seeds | exercises refused | 95 % interval (pooled) | top-exercise accuracy "
          "| accepted and right | negatives accepted | negatives accepted at 97 % (oracle) | "
          + " | ".join(f"AUROC {s}" for s in SCORES) + " |")
    print("|---|---|---|---|---|---|---|---|---|" + "---|" * len(SCORES))
    for cv in args.cv_dirs:
        by_name = pooled(Path(cv))
        if not by_name:
            print(f"error: {cv} holds no fold with saved clip outputs (rerun its cross-validation)", file=sys.stderr)
            return 2
        results[cv] = by_name
        for name, seeds in by_name.items():
            figures = [seed_figures(s) for s in seeds]
            summary.setdefault(cv, {})[name] = figures
            low, high = wilson_interval(sum(f["exercises_refused_count"] for f in figures),
                                        sum(f["exercises"] for f in figures))
            aurocs = [mean_std([f.get("auroc", {}).get(s) for f in figures]) for s in SCORES]
            print(f"| {Path(cv).name} | {name} | {len(figures)} | {mean_std([f['exercises_refused'] for f in figures])}"
                  f" | {low:.3f}-{high:.3f} | {mean_std([f['accuracy'] for f in figures])} | "
                  f"{mean_std([f['accepted_and_right'] for f in figures])} | "
                  f"{mean_std([f.get('negatives_accepted') for f in figures])} | "
                  f"{mean_std([f.get('negatives_accepted_at_97_oracle') for f in figures])} | " + " | ".join(aurocs) + " |")
    print("\nOperating points (each fold's thresholds from its own out-of-fold calibration):\n")
    print("| CV folder | aggregator | accept_rate: exercises refused | accept_rate: negatives accepted | "
          "balanced: exercises refused | balanced: negatives accepted |")
    print("|---|---|---|---|---|---|")
    for cv, by_name in summary.items():
        for name, figures in by_name.items():
            cells = [mean_std([f.get(f"{point}_{what}") for f in figures])
                     for point in ("accept_rate", "balanced") for what in ("exercises_refused", "negatives_accepted")]
            print(f"| {Path(cv).name} | {name} | " + " | ".join(cells) + " |")
    print("\nExercises refused per class, all fold seeds pooled (refused/held-out videos):\n")
    for cv, by_name in summary.items():
        for name, figures in by_name.items():
            for point in ("accept_rate", "balanced"):
                totals: dict[str, list[int]] = {}
                for f in figures:
                    for c, (refused, total) in f.get(f"{point}_refused_by_class", {}).items():
                        totals.setdefault(c, [0, 0])
                        totals[c][0] += refused
                        totals[c][1] += total
                print(f"- {Path(cv).name} {name} {point}: "
                      + ", ".join(f"{c} {r}/{t}" for c, (r, t) in totals.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rejection_cv.json").write_text(json.dumps(summary, indent=2))
    plot(results, out / "rejection_cv.png")
    print(f"\nwritten: {out / 'rejection_cv.json'}, {out / 'rejection_cv.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
