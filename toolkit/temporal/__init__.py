"""Temporal heads (vote, LSTM, transformer) and the video models and classifier built on them."""
