"""pushup_form (261 real push-up clips, correct against wrong form; sources inferred from near-duplicate
frames) with the small CNN trained from scratch.

    python recipes/extract_frames.py --videos ../shared/data/pushup_form --out data/frames_pushup_form \
        --group-near-duplicates 10
    python recipes/cross_validate.py --config presets/pushup_form_custom_cnn.py --repeats 3 \
        --out runs/cv_pushup_form_cnn
"""

model_name = "custom_cnn"
weights = None
image_size = 128
epochs = 15
learning_rate = 2e-3
augment = True
frames_dir = "data/frames_pushup_form"
video_dir = "../shared/data/pushup_form"
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
