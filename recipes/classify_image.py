"""Classify images with a saved run: top-k exercises with probabilities, or "unknown".

    python recipes/classify_image.py photo.jpg --run runs/quickstart
    python recipes/classify_image.py folder_of_images/ --run runs/pose --top-k 3 --json
    python recipes/classify_image.py photo.jpg --model runs/pose/export/vote.tflite   # no TensorFlow needed

Accepts image files and folders (searched recursively for .jpg .jpeg .png .bmp .webp). Each image goes
through the run's encoder and frame head. The verdict is "unknown" when the encoder finds no evidence (a pose
run: no body, meaning no shoulder and hip with enough confident joints) or the top probability is below the
level 95 % of the run's validation frames reach; --no-reject always names the top class. Missing,
unreadable and truncated images are reported by name and skipped; the exit status is 1 if any were.
--model classifies with an exported vote model (recipes/export.py) without TensorFlow.
"""

import json
import sys

from workout_runtime.cli import add_model_source, load_classifier, make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from workout_runtime.images import ImageReadError, collect_images, read_image  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("images", nargs="+", help="image files or folders")
    add_model_source(parser, "a LiteRT or ONNX vote model written by recipes/export.py (no TensorFlow needed)")
    parser.add_argument("--top-k", type=int, default=3, help="classes listed per image (default 3)")
    parser.add_argument("--no-reject", action="store_true", help='always name the top class, never "unknown"')
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f"--top-k must be at least 1 (received {args.top_k})")
    # A run's images are judged by its frame head, which the vote model holds.
    classifier = load_classifier(args.run, args.model, None if args.model else "vote", reject=not args.no_reject)
    results, failures = [], []
    for path in collect_images(args.images):
        try:
            image = read_image(path)
        except ImageReadError as error:
            failures.append({"path": str(path), "error": error.reason})
            continue
        verdict = classifier.classify_images([image], [str(path)])[0]
        top = sorted(verdict.probabilities.items(), key=lambda kv: -kv[1])[:args.top_k]
        results.append({"path": str(path), "label": verdict.label, "unknown_reason": verdict.unknown_reason,
                        "evidence": bool(verdict.frames_with_evidence),
                        "top": [{"label": k, "probability": v} for k, v in top]})
    if args.json:
        print(json.dumps({"model": classifier.description, "results": results, "failures": failures}, indent=2))
    else:
        for r in results:
            ranked = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in r["top"])
            verdict = f"unknown ({r['unknown_reason']})" if r["unknown_reason"] else r["label"]
            print(f"{r['path']}: {verdict}; {ranked}")
        for f in failures:
            print(f"{f['path']}: ERROR {f['error']}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
