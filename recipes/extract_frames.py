"""Extract frames from a folder of class-labelled videos into a frame manifest.

    python recipes/extract_frames.py                          # config.py: video_dir -> frames_dir
    python recipes/extract_frames.py --videos ../shared/data/workout4 --out data/frames_workout4
    python recipes/extract_frames.py --videos data/myvids --every-seconds 0.5 --group-pattern "^(.*)_\\d+$"
    python recipes/extract_frames.py --videos data/myvids --out data/frames --runner direct --workers 2   # Beam

Input: <videos>/<class>/<video>.(mp4|avi|mov|mkv|webm|m4v). Output: <out>/<class>/<video>/frame_XXXXX.jpg,
<out>/manifest.csv (path, label, video_id, group, frame_index, timestamp_s, phash) and <out>/failed.csv.
Frames are written as they are decoded, so memory stays flat however long a video is. Groups (what a split
keeps together) come from --group-csv, --group-pattern, the `group` column of <videos>/manifest.csv (any
case), or near-duplicate clustering of the frames (--group-near-duplicates); the source and the groups per
class are printed. A group table or manifest that misses videos or has no group column stops the run unless
--one-group-per-video accepts each uncovered video as its own source. Two videos of a class with one name
(clip.mp4, clip.avi) get a frame folder each. Unreadable videos are skipped and listed; an interrupted run
resumes where it stopped. About 1 s per 10 short videos on 2 cores. --runner runs the same per-video work as
an Apache Beam pipeline (pip install ".[beam]"): "direct" on this machine, or Beam's pipeline options for a
cluster runner (the workers must see both folders, e.g. on gs://, and have the toolkit installed).
"""

import sys

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.frames import extract_frames, regroup_by_near_duplicates  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--videos", help="video folder (default: config.video_dir)")
    parser.add_argument("--out", help="output folder (default: config.frames_dir)")
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--frames", type=int, help="frames per video, uniform in time "
                                                     "(default: config.frames_per_video)")
    sampling.add_argument("--every-seconds", type=float, help="one frame every this many seconds instead")
    parser.add_argument("--size", type=int, default=None, help="resize frames to SIZE x SIZE (default: keep)")
    parser.add_argument("--group-csv", help="CSV with columns video (or path) and group")
    parser.add_argument("--group-pattern", help="regex with one capture group applied to file names")
    parser.add_argument("--group-near-duplicates", type=int, metavar="BITS", default=None,
                        help="set groups by clustering videos whose frames are near-duplicates "
                             "(pHash distance <= BITS, e.g. 10), for datasets with unknown sources")
    parser.add_argument("--one-group-per-video", action="store_true",
                        help="accept videos the group source does not cover as groups of their own")
    parser.add_argument("--workers", type=int, default=2, help="videos decoded in parallel (or Beam processes)")
    parser.add_argument("--runner", metavar="OPTIONS", default=None,
                        help='run the extraction as an Apache Beam pipeline (pip install ".[beam]"): "direct" for '
                             'DirectRunner with --workers processes, or Beam pipeline options such as '
                             '"--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp"')
    add_config_flags(parser, only=("video_dir", "frames_dir", "frames_per_video"))
    args = parser.parse_args(argv)
    config = config_from_args(args)
    videos = args.videos or config.video_dir
    out = args.out or config.frames_dir
    if args.every_seconds is not None and not args.every_seconds > 0:
        parser.error(f"--every-seconds must be a positive number of seconds (received {args.every_seconds})")
    for flag, value in (("--frames", args.frames), ("--size", args.size), ("--workers", args.workers)):
        if value is not None and value < 1:  # 0 must not silently mean "the default"
            parser.error(f"{flag} must be a positive integer (received {value})")
    report = extract_frames(videos, out, num_frames=args.frames if args.frames is not None else config.frames_per_video,
                            every_seconds=args.every_seconds, size=args.size, group_csv=args.group_csv,
                            group_pattern=args.group_pattern,
                            # Groups inferred from the frames replace whatever the source gave.
                            one_group_per_video=args.one_group_per_video or args.group_near_duplicates is not None,
                            workers=args.workers, runner=args.runner)
    print(f"{report.frames} frames from {report.extracted} new and {report.resumed} already extracted "
          f"videos -> {report.manifest}")
    for note in report.notes:
        print(f"note: {note}")
    if args.group_near_duplicates is not None:
        _, count = regroup_by_near_duplicates(report.manifest, args.group_near_duplicates)
        print(f"groups set from near-duplicate frames (pHash distance <= {args.group_near_duplicates}): {count}")
    else:
        print(f"groups from {report.group_source}")
        print("groups per class: " + ", ".join(f"{k} {v}" for k, v in report.groups_per_class.items()))
    if report.failed:
        print(f"{len(report.failed)} unreadable videos skipped (listed in {report.manifest.parent}/failed.csv):")
        for path, reason in report.failed:
            print(f"  {path}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
