"""Names shared by the encoders' feature models."""

FEATURES_NAME = "features"
