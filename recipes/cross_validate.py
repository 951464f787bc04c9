"""Stratified group k-fold cross-validation of a frame model and every temporal aggregator.

    python recipes/cross_validate.py --frames data/frames --model-name custom_cnn --weights none
    python recipes/cross_validate.py --frames data/frames_workout4 --folds 5 --out runs/cv_workout4
    python recipes/cross_validate.py --frames data/frames --folds 2 --no-lstm --epochs 1   # a quick check
    python recipes/cross_validate.py --frames data/frames_workout4 --model-name movenet_lightning

Per fold (videos grouped by source, stratified by class), trains the frame model once and scores
majority vote, mean probability and the LSTM (on cached features) on the same held-out videos.
Writes <out>/fold_k/ (per-fold reports and confusion matrices), <out>/summary.csv,
<out>/summary.md and <out>/summary.png (mean and standard deviation per aggregator, frame and
video level). An interrupted run resumes at the first unfinished fold. Runtime: folds x the time
of one training run. With a pose encoder (model_name movenet_lightning or movenet_thunder), the
keypoints of every frame are extracted once (cached in <frames>/pose_cache/; about 70 frames/s
for Lightning on 2 cores) and each fold trains the pose frame classifier and LSTM in seconds.
"""

import sys
import time
from pathlib import Path

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.evaluation.cross_validation import cross_validate  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--frames", help="frame folder with manifest.csv (default: config.frames_dir)")
    parser.add_argument("--out", help="output folder (default: <runs_dir>/cv-<model>-<time>)")
    parser.add_argument("--no-lstm", action="store_true", help="skip the LSTM aggregator")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    frames = Path(args.frames or config.frames_dir)
    rows = read_manifest(frames)
    out = Path(args.out or Path(config.runs_dir) / f"cv-{config.model_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    start = time.perf_counter()
    cross_validate(config, rows, out, lstm=not args.no_lstm, pose_cache_dir=frames / "pose_cache")
    print((out / "summary.md").read_text())
    print(f"Cross-validation written to {out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
