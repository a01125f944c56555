"""Restoring trained generators from workdirs, inference, and (later) the thesis's tables."""
