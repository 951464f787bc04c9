"""Penn Action (2326 sequences, 15 actions, hand-labelled joints, official train/test split) with the pose heads.

    python benchmarks/pose_penn_action.py --config presets/penn_action.py --repeats 3

No video frames: the labelled joints (mapped onto MoveNet's 17 keypoints) go through the same pose-feature
layer and the same frame head, LSTM and transformer as a MoveNet run.
"""

frames_per_video = 32
frame_head_units = 128
lstm_units = 128
transformer_units = 128
transformer_layers = 2
dropout = 0.3
batch_size = 256
sequence_batch_size = 16
learning_rate = 1e-3
sequence_learning_rate = 2e-3
head_epochs = 80
early_stopping_patience = 10
validation_fraction = 0.1
accept_rate = 0.95
seed = 0
