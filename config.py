"""The toolkit's switchboard: edit a value here, or override it per run with a flag.

Every recipe reads this file, applies its command-line flags on top (each field
has one: `model_name` -> `--model-name`), validates the result and passes it to
the library. The library itself never imports this file.

    python recipes/train_image_classifier.py                       # values below
    python recipes/train_image_classifier.py --model-name custom_cnn --epochs 3

Expected result with these defaults on the embedded synthetic data is given by
`python recipes/quickstart.py` (see README.md).
"""

# === Model ===
# Pixel frame classifiers: "efficientnet_b0" (pretrained backbone, two-stage
# fine-tuning) or "custom_cnn" (small CNN trained from scratch).
# Pose encoders: "movenet_lightning" or "movenet_thunder" (pretrained MoveNet
# keypoints per frame, then a per-frame classifier for voting and an LSTM over
# the sequence; the best choice on small data, see BENCHMARKS.md).
model_name = "efficientnet_b0"
# "imagenet" (downloaded once by Keras into ~/.keras/models/), the path of a
# weights file (e.g. "/data/efficientnetb0_notop.h5" on an offline machine),
# or None to start from random weights. Pose encoders ignore it.
weights = "imagenet"
# Frames are resized to image_size x image_size before the model.
image_size = 224
# Dropout before the softmax head.
dropout = 0.2
# Folder holding MoveNet's TF.js graph models (movenet-lightning.json,
# movenet-thunder.json and their .bin weights), for the movenet_* models.
# With a network, download the tfjs versions of
# tfhub.dev/google/movenet/singlepose/{lightning,thunder}/4 and rename them so.
pose_model_dir = "../shared/models/movenet"

# === Video ===
# Frames sampled uniformly in time per video, for extraction and video models.
frames_per_video = 16
# How a frame classifier becomes a video classifier: "vote" (pool the frame
# predictions) or "lstm" (TimeDistributed features + LSTM). A pose run trains
# both; this picks the one classify_video uses by default.
temporal = "vote"
# Vote pooling: "majority", "mean" (mean probability) or "confidence"
# (confidence-weighted mean probability).
vote_method = "mean"
# Units of the LSTM layer.
lstm_units = 64

# === Training ===
batch_size = 32
# Stage 1: epochs with the backbone frozen (all epochs for custom_cnn).
epochs = 10
# Stage 2 (pretrained backbones only): epochs with the top layers unfrozen.
fine_tune_epochs = 5
learning_rate = 1e-3
fine_tune_learning_rate = 1e-5
# How many of the backbone's top layers stage 2 unfreezes (BatchNorm stays frozen).
fine_tune_layers = 20
# Epochs (at most; early stopping on validation) of the heads trained on cached
# features: the LSTM sequence head, and for pose encoders the per-frame pose
# classifier as well.
lstm_epochs = 40
# Training-time augmentation (never applied to evaluation data).
augment = True
# Stop when validation loss has not improved for this many epochs.
early_stopping_patience = 5

# === Splits (always by group: video, performer or source) ===
validation_fraction = 0.15
test_fraction = 0.2
folds = 5
seed = 42

# === Paths (relative to where you run the recipe) ===
# Videos laid out as <video_dir>/<class>/<video>.mp4
video_dir = "data/synthetic"
# Extracted frames and their manifest.csv
frames_dir = "data/frames"
# One folder per training run
runs_dir = "runs"
