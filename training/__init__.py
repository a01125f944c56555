"""Train steps, the training loop, checkpoints, summaries and the training entry points."""
