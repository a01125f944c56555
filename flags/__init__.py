"""absl flag definitions and their conversion into frozen configs.

absl is imported as ``from absl import flags as absl_flags`` here: this package is itself named
``flags``.
"""
