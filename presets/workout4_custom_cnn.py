"""workout4 (78 real clips, 4 classes, 23 hand-assigned sources) with the small CNN trained from scratch.

    python recipes/extract_frames.py --videos ../shared/data/workout4 --out data/frames_workout4
    python recipes/cross_validate.py --config presets/workout4_custom_cnn.py --repeats 3 \
        --out runs/cv_workout4_cnn
"""

model_name = "custom_cnn"
weights = None
image_size = 128
epochs = 15
learning_rate = 2e-3
augment = True
frames_dir = "data/frames_workout4"
video_dir = "../shared/data/workout4"
frames_per_video = 16
frame_head_units = 64
lstm_units = 64
transformer_units = 64
dropout = 0.3
batch_size = 32
sequence_batch_size = 16
sequence_learning_rate = 2e-3
head_epochs = 80
early_stopping_patience = 5
validation_fraction = 0.15
folds = 5
seed = 0
