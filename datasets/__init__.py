"""tf.data input pipelines, the built-in synthetic data and dataset preparation."""
