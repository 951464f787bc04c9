"""How well near-duplicate clustering recovers source groups, and what it infers where none are given.

    python benchmarks/grouping.py                 # workout4 (given groups) and pushup_form (none)
    python benchmarks/grouping.py --smoke         # tiny synthetic videos in a temporary folder (CI)

For ../shared/data/workout4 it compares groups inferred from near-duplicate frames with the
hand-assigned source groups: adjusted Rand index, and the share of given groups kept whole (a
given group split over several inferred groups is what could still leak). For pushup_form it
reports the inferred groups per class. Extraction is cached under data/.
"""

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.metrics import adjusted_rand_score

from toolkit.data.frames import extract_frames
from toolkit.data.images import infer_video_groups
from toolkit.data.manifest import read_manifest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distances", type=int, nargs="+", default=[6, 10, 14, 18])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny synthetic videos in a temporary folder: checks the script runs (CI); no figures")
    args = parser.parse_args(argv)
    datasets = {name: (SHARED / name, Path("data") / f"frames_{name}", 16) for name in ("workout4", "pushup_form")}
    if args.smoke:
        from smoke import tiny_videos, work_dir

        work = work_dir("grouping")
        datasets = {"synthetic": (tiny_videos(work / "videos"), work / "frames", 2)}
    for name, (videos, frames_dir, frames) in datasets.items():
        start = time.perf_counter()
        report = extract_frames(videos, frames_dir, num_frames=frames, progress=False)
        rows = read_manifest(report.manifest)
        extract_s = time.perf_counter() - start
        given = {r["video_id"]: r["group"] for r in rows}
        labels = {r["video_id"]: r["label"] for r in rows}
        print(f"\n## {name}: {len(given)} videos, {len(rows)} frames (extraction {extract_s:.1f} s)")
        for distance in args.distances:
            start = time.perf_counter()
            inferred = infer_video_groups(rows, distance)
            seconds = time.perf_counter() - start
            ids = sorted(inferred)
            per_class = collections.defaultdict(set)
            for v in ids:
                per_class[labels[v]].add(inferred[v])
            line = (f"distance {distance:2d}: {len(set(inferred.values()))} inferred groups "
                    f"({', '.join(f'{k} {len(v)}' for k, v in sorted(per_class.items()))}), {seconds:.1f} s")
            if any(given.values()):  # given groups (workout4, synthetic performers) to compare with
                ari = adjusted_rand_score([given[v] for v in ids], [inferred[v] for v in ids])
                members = collections.defaultdict(set)
                for v in ids:
                    members[given[v]].add(inferred[v])
                whole = sum(len(s) == 1 for s in members.values())
                line += f"; ARI vs given {ari:.2f}; given groups kept whole {whole}/{len(members)}"
            print(line)


if __name__ == "__main__":
    main()
