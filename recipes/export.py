"""Export a run to SavedModel, LiteRT or ONNX: one file from uint8 frames to class probabilities, encoder inside.

    python recipes/export.py --run runs/pose --format tflite                  # runs/pose/export/vote.tflite
    python recipes/export.py --run runs/pose --format onnx --temporal lstm
    python recipes/export.py --run runs/quickstart --format tflite --quantize int8 --out lite0_int8.tflite

The artifact maps one clip of uint8 RGB frames (1, T, H, W, 3) to class probabilities and the number of
frames with evidence; MoveNet and the pose features are inside it. A JSON contract is written beside it
(<artifact>.json: class names, T, frame geometry, outputs, the "unknown" rule, toolkit version, the run).
Before it is moved into place, the artifact is checked against the run's Keras model on up to --check held-out
clips of the run's frame folder: it is written only if every clip keeps its top class and evidence count and
the largest probability difference is within 1e-3 (float16: 0.02, int8: 0.1); otherwise nothing is written and
the command exits 2. int8 is refused for runs with MoveNet inside (it breaks the pose arithmetic; float16
works). Classify with it, without TensorFlow: python recipes/classify_video.py VIDEO --model <artifact>
(pip install ".[runtime]").

Formats: savedmodel (through model.export), tflite (LiteRT builtin ops; --quantize float16, or int8
calibrated on the run's training clips), onnx (tf2onnx, opset 17; --quantize int8 quantizes the weights).
Runtime: under a minute for a pose or EfficientNet-Lite0 run on 2 cores.
"""

import sys

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from toolkit.export import FORMATS, QUANTIZATIONS, export_run  # noqa: E402
from toolkit.temporal.heads import AGGREGATORS  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--run", required=True, help="run folder written by a training recipe")
    parser.add_argument("--format", default="tflite", help=f"one of {list(FORMATS)} (default: tflite)")
    parser.add_argument("--temporal", choices=AGGREGATORS, help="aggregator to export (default: the run's)")
    parser.add_argument("--quantize", default="none", help=f"one of {list(QUANTIZATIONS)} (default: none)")
    parser.add_argument("--out", help="artifact path (default: <run>/export/<aggregator>[_<quantize>].<ext>)")
    parser.add_argument("--check", type=int, default=8, help="held-out clips to check parity on (0: skip)")
    args = parser.parse_args(argv)
    if args.check < 0:
        parser.error(f"--check must be 0 (skip) or a number of held-out clips (received {args.check})")
    exported = export_run(args.run, args.out, args.format, args.temporal, args.quantize, check=args.check)
    size = (exported.path.stat().st_size if exported.path.is_file()
            else sum(p.stat().st_size for p in exported.path.rglob("*") if p.is_file()))
    print(f"wrote {exported.path} ({size / 1e6:.1f} MB) and {exported.contract_path.name}")
    parity = exported.contract.get("parity")
    if parity:
        print(f"parity with the Keras model on {parity['clips']} held-out clips (checked before writing): largest "
              f"probability difference {parity['max_abs_difference']:.2e}, same top class on "
              f"{parity['top1_agreement']:.0%}, same frames-with-evidence count on {parity['evidence_agreement']:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
