"""Checks of output paths made before any computing, so that a bad --out costs nothing and an
input folder is never written into."""
import os

from training.config import ConfigError


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_writable(path, flag, shown):
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise ConfigError(f"--{flag}={shown}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--{flag}={shown}: {probe} is not writable")


def check_output_dir(path, flag, inputs=()):
    """Refuses an output folder that is a file, lies under a file, cannot be created or written,
    or is (or lies inside) one of the ``inputs`` folders ({flag: folder})."""
    for input_flag, folder in dict(inputs).items():
        if folder and _inside(path, folder):
            raise ConfigError(f"--{flag}={path}: is {'' if _inside(folder, path) else 'inside '}the "
                              f"--{input_flag} folder, whose files it would overwrite; choose "
                              "another output folder")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"--{flag}={path}: is a file, not a folder")
    _check_writable(path, flag, path)


def check_output_file(path, flag):
    """Refuses an output file that is a folder or whose folder cannot be created or written."""
    if os.path.isdir(path):
        raise ConfigError(f"--{flag}={path}: is a folder; give the file to write")
    _check_writable(os.path.dirname(os.path.abspath(path)), flag, path)
