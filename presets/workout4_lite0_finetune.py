"""workout4 (78 real clips, 4 classes, 23 hand-assigned sources) with EfficientNet-Lite0 (ImageNet),
heads first, then its top 20 layers fine-tuned.

    python recipes/extract_frames.py --videos ../shared/data/workout4 --out data/frames_workout4
    python recipes/cross_validate.py --config presets/workout4_lite0_finetune.py --repeats 3 \
        --out runs/cv_workout4_lite0_finetune
"""

model_name = "efficientnet_lite0"
weights = "imagenet"
image_size = 224
fine_tune_epochs = 5
fine_tune_layers = 20
fine_tune_learning_rate = 1e-4
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
