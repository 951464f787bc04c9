"""Report on a video folder: decode-based integrity scan, per-class table and plots.

    python recipes/dataset_report.py --videos ../shared/data/workout4 --out reports/workout4

Decodes every video of <videos>/<class>/ once (frame counts and durations are measured, not read
from headers), lists unreadable files with the reason, prints a per-class summary table, and
writes videos_per_class.png, durations.png, videos.csv and unreadable.csv to --out.
"""

import sys

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from toolkit.data.report import format_scan, scan_videos, write_scan  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--videos", required=True, help="video folder laid out as <class>/<video>")
    parser.add_argument("--out", default="reports/dataset", help="where plots and CSVs go (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    scan = scan_videos(args.videos, args.workers)
    print(format_scan(scan))
    for note in scan.notes:
        print(f"note: {note}")
    for path in write_scan(scan, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
