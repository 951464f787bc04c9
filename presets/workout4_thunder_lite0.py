"""workout4 (78 real clips, 4 classes, 23 hand-assigned sources) with MoveNet Thunder pose features
joined to frozen EfficientNet-Lite0 (ImageNet) features.

    python recipes/extract_frames.py --videos ../shared/data/workout4 --out data/frames_workout4
    python recipes/cross_validate.py --config presets/workout4_thunder_lite0.py --repeats 3 \
        --out runs/cv_workout4_thunder_lite0
"""

model_name = "movenet_thunder+efficientnet_lite0"
pose_model_dir = "../shared/models/movenet"
weights = "imagenet"
image_size = 224
fine_tune_epochs = 0
frames_dir = "data/frames_workout4"
video_dir = "../shared/data/workout4"
frames_per_video = 16
frame_head_units = 64
lstm_units = 64
transformer_units = 64
transformer_layers = 2
dropout = 0.3
batch_size = 64
sequence_batch_size = 16
learning_rate = 1e-3
sequence_learning_rate = 2e-3
head_epochs = 80
early_stopping_patience = 15
validation_fraction = 0.15
folds = 5
seed = 0
