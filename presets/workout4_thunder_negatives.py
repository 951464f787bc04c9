"""workout4 with MoveNet Thunder pose features, and the 28 real non-exercise videos of ../shared as the class "other".

The row "unknown with negatives" in BENCHMARKS.md: the same settings as presets/workout4_thunder.py, plus
negatives split by source like the exercises, the rejection threshold on 1 - P(other) set from out-of-fold
predictions of the training videos (3 grouped folds) where it best separates exercises from negatives.

    python recipes/extract_frames.py --videos ../shared/data/workout4 --out data/frames_workout4
    python recipes/cross_validate.py --config presets/workout4_thunder_negatives.py --repeats 3 \
        --out runs/cv_workout4_thunder_negatives
"""


model_name = "movenet_thunder"
pose_model_dir = "../shared/models/movenet"
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
negatives = "../shared/data/nonexercise_video"
rejection_score = "exercise_probability"
operating_point = "balanced"
accept_rate = 0.97
calibration_folds = 3
