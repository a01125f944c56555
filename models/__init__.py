"""Networks and objectives (keras.layers / keras.ops only, so any Keras backend can train them)."""
