"""Encode extracted frames with a frozen encoder as an Apache Beam pipeline, ahead of training.

    python recipes/encode_frames.py                                        # config.py: frames_dir, model_name
    python recipes/encode_frames.py --frames data/frames_workout4 --model-name movenet_thunder --workers 2
    python recipes/encode_frames.py --frames gs://B/frames --runner "--runner=DataflowRunner --project=P ..."

The step after extract_frames.py, for sets too large for one machine to encode (MoveNet Thunder: about 30
frames a second on 2 cores). Each video is one element: a worker builds the encoder once and writes the
video's features as one shard into <frames>/feature_cache, where train_video_classifier.py and
cross_validate.py read them (frames without a shard are encoded there, as before). Needs a pretrained, frozen
encoder (MoveNet, or EfficientNet with ImageNet weights): model_name, image_size, weights, pose_model_dir and
person_gate come from config.py and its flags, and must be the ones training will use (the cache is keyed by
them). Videos already encoded are skipped, so an interrupted run resumes; a video whose frames cannot be read
is listed and the others go on. --runner as for extract_frames.py (pip install ".[beam]").
"""

import sys
import time

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.training.encoding_pipeline import EncoderSpec, encode_frames  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--frames", help="frame folder written by extract_frames.py (default: config.frames_dir)")
    parser.add_argument("--workers", type=int, default=2, help="DirectRunner processes (default 2)")
    parser.add_argument("--runner", metavar="OPTIONS", default="direct",
                        help='"direct" (DirectRunner with --workers processes, the default) or Beam pipeline options '
                             'such as "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp"')
    add_config_flags(parser, only=("frames_dir", "model_name", "image_size", "weights", "pose_model_dir",
                                   "person_gate"))
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be a positive integer (received {args.workers})")
    config = config_from_args(args)
    frames = args.frames or config.frames_dir
    rows = read_manifest(frames)
    started = time.perf_counter()
    report = encode_frames(rows, EncoderSpec.from_config(config), f"{frames}/feature_cache", args.runner,
                           args.workers)
    seconds = time.perf_counter() - started
    print(f"{config.model_name}: {report.encoded} videos encoded, {report.skipped} already encoded, "
          f"{len(report.failed)} failed; {report.frames} frames in {seconds:.0f} s -> {report.shard_dir}")
    for video_id, reason in report.failed:
        print(f"  FAILED {video_id}: {reason}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
