"""Metadata and dependencies live in pyproject.toml; this file lets older tools install the project."""
from setuptools import setup

setup()
