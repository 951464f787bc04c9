"""How well perceptual hashing groups a folder of photos: true pairs kept together against false merges.

    python benchmarks/image_grouping.py
    python benchmarks/image_grouping.py --smoke   # tiny synthetic videos in a temporary folder (CI)

The photo set is built from workout4 (78 clips, 23 hand-assigned sources): two
frames of every clip, at 20 % and 70 % of its length (one person and room in
two poses: a true pair), plus an identical copy under another name of every
fifth photo. For each pHash distance it reports the share of true pairs and
of identical copies that land in one group, and the false merges: groups
holding photos of different sources (by the hand-assigned groups) or of
different exercises. Writes benchmarks/results/image_grouping.json.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from toolkit.data.images import cluster_near_duplicates, perceptual_hash
from workout_runtime.sampling import read_frames

ROOT = Path(__file__).resolve().parents[1]
WORKOUT4 = ROOT.parent / "shared" / "data" / "workout4"


def photo_set(folder: Path = WORKOUT4):
    with open(folder / "manifest.csv") as f:
        videos = list(csv.DictReader(f))
    hashes, owner, source, label = [], [], [], []
    for i, video in enumerate(videos):
        clip = read_frames(folder / video["path"], 10)
        for k in (2, 7):  # 20 % and 70 % through the clip: two poses
            hashes.append(perceptual_hash(clip.frames[k]))
            owner.append(f"pair_{i}")
            source.append(video["group"])
            label.append(video["label"])
    copies = list(range(0, len(hashes), 5))  # every fifth photo again, identical, under another name
    for j in copies:
        hashes.append(hashes[j])
        owner.append(f"copy_{j}")
        source.append(source[j])
        label.append(label[j])
    return np.array(hashes, dtype=np.uint64), owner, np.array(source), np.array(label), copies


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny synthetic videos in a temporary folder: checks the script runs (CI); no figures")
    args = parser.parse_args(argv)
    folder, out = WORKOUT4, ROOT / "benchmarks" / "results"
    if args.smoke:
        from smoke import tiny_videos, work_dir

        out = work_dir("image_grouping")
        folder = tiny_videos(out / "videos")
    if not folder.is_dir():
        print(f"needs {folder}", file=sys.stderr)
        return 1
    hashes, owner, source, label, copies = photo_set(folder)
    pairs = len([o for o in owner if o.startswith("pair_")]) // 2
    rows = []
    for distance in (0, 2, 4, 6, 8, 10, 12, 14):
        clusters = cluster_near_duplicates(hashes, distance)
        pair_kept = np.mean([clusters[2 * i] == clusters[2 * i + 1] for i in range(pairs)])
        copy_kept = np.mean([clusters[j] == clusters[2 * pairs + n] for n, j in enumerate(copies)])
        sources_in = [len(set(source[clusters == c])) for c in np.unique(clusters)]
        labels_in = [len(set(label[clusters == c])) for c in np.unique(clusters)]
        mixed = [c for c in np.unique(clusters) if len(set(source[clusters == c])) > 1]
        rows.append({"distance": distance, "groups": int(len(np.unique(clusters))), "true_pairs_kept": float(pair_kept),
                     "copies_kept": float(copy_kept), "groups_mixing_sources": len(mixed),
                     "photos_in_mixed_groups": int(sum((clusters == c).sum() for c in mixed)),
                     "most_sources_in_a_group": int(max(sources_in)), "most_exercises_in_a_group": int(max(labels_in))})
    print(f"{len(hashes)} photos: {pairs} true pairs (one clip, two poses), {len(copies)} identical copies, "
          f"{len(set(source))} sources\n")
    print("| pHash distance | groups | true pairs kept together | identical copies kept together | groups mixing "
          "sources (photos in them) | most sources in one group | most exercises in one group |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['distance']} | {r['groups']} | {r['true_pairs_kept']:.0%} | {r['copies_kept']:.0%} | "
              f"{r['groups_mixing_sources']} ({r['photos_in_mixed_groups']}) | {r['most_sources_in_a_group']} | "
              f"{r['most_exercises_in_a_group']} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "image_grouping.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
