"""Render the embedded synthetic workout-video dataset.

    python recipes/make_synthetic_dataset.py --out data/synthetic
    python recipes/make_synthetic_dataset.py --out data/tiny --videos-per-class 3 --classes squat push_up

Writes <out>/<class>/<video>.mp4 and <out>/manifest.csv (path, label, group =
performer, fps, frames, duration). With --image-out DIR it also writes JPEG
frames (--image-frames per video) as DIR/<class>/<video>_fNNNN.jpg, the
layout of image datasets.
Runtime: the default 7 classes x 10 videos take about 15 s on 2 CPU cores.
"""

import os
import sys
import time

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from toolkit.data.synthetic import DEFAULT_CLASSES, SyntheticConfig, generate_dataset  # noqa: E402
from toolkit.data.synthetic_motion import EXERCISES  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--out", default="data/synthetic", help="output folder (default: %(default)s)")
    parser.add_argument("--classes", nargs="+", default=list(DEFAULT_CLASSES), choices=list(EXERCISES),
                        metavar="CLASS", help=f"exercises to render (default: all of {list(EXERCISES)})")
    parser.add_argument("--videos-per-class", type=int, default=10)
    parser.add_argument("--performers", type=int, default=6, help="size of the recurring cast")
    parser.add_argument("--max-duration", type=float, default=20.0, help="longest video in seconds")
    parser.add_argument("--image-out", default=None, help="also write the image-dataset form here")
    parser.add_argument("--image-frames", type=int, default=5, help="JPEG frames per video for --image-out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="render processes")
    args = parser.parse_args(argv)
    try:
        config = SyntheticConfig(classes=tuple(args.classes), videos_per_class=args.videos_per_class,
                                 num_performers=args.performers, max_duration_s=args.max_duration,
                                 image_frames_per_video=args.image_frames, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))
    start = time.perf_counter()
    manifest = generate_dataset(args.out, config, num_workers=args.workers, image_dir=args.image_out)
    print(f"Wrote {len(config.classes) * config.videos_per_class} videos and {manifest} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
