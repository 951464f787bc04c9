"""Training runs: encoder training, cached features, heads, and the trainer that ties them together."""
