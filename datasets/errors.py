"""The error every reader raises for input it cannot use; TensorFlow-free, so that a command can catch
it before anything heavy is imported."""


class DataError(ValueError):
    """Input data that cannot be used; the message names the file or folder."""
