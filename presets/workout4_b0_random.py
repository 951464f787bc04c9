"""workout4 (78 real clips, 4 classes, 23 hand-assigned sources) with EfficientNetB0 from random
initialisation (no ImageNet download here).

    python recipes/extract_frames.py --videos ../shared/data/workout4 --out data/frames_workout4
    python recipes/cross_validate.py --config presets/workout4_b0_random.py --repeats 3 \
        --out runs/cv_workout4_b0_random
"""

model_name = "efficientnet_b0"
weights = None
image_size = 128
epochs = 8
learning_rate = 1e-3
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
sequence_learning_rate = 1e-3
head_epochs = 80
early_stopping_patience = 5
validation_fraction = 0.15
folds = 5
seed = 0
