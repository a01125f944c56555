"""cyclegan-swapgan: TensorFlow 2 / Keras 3 reproduction of chapter 8 of Yu Liu's thesis (Leiden, 2018)."""
from setuptools import find_packages, setup

setup(
    name="cyclegan-swapgan",
    version="0.1.0",
    description=("Cycle-consistent translation (GAN, Vanilla, Long, Nest CycleGAN) and SwapGAN "
                 "in TensorFlow 2 / Keras 3"),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.14",  # TensorFlow 2.21 ships wheels for 3.10-3.13
    package_data={"evaluation": ["presets/*/*.flags"]},
    packages=find_packages(include=["models", "models.*", "training", "training.*", "datasets",
                                    "datasets.*", "evaluation", "evaluation.*", "flags", "flags.*"]),
    install_requires=[
        # tensorflow-addons is deliberately absent: it is end-of-life and fails to import under Keras 3.
        "tensorflow==2.21.0",
        "keras>=3.10,<4",
        "numpy>=1.26",
        "opencv-python-headless>=4.8",
        "absl-py>=2.1",
        "tensorboard>=2.16",  # tf.summary needs it; TensorFlow 2.21 no longer installs it
        "scikit-image>=0.22",
        "matplotlib>=3.8",
        "pytest>=8",
    ],
    extras_require={
        # CI installs .[test]: CPU jax for the JAX-step tests and the CPU build of torch 2.13.0, which
        # this project's machines keep on disk (elsewhere pip downloads it, the CUDA build on Linux).
        "test": ["pytest>=8", "pytest-xdist>=3.5", "jax>=0.10", "torch==2.13.0"],
        "jax": ["jax>=0.10"],  # training/jax_step.py; on a GPU install jax's CUDA build instead
        "bench": ["torch"],    # python -m training.benchmark --reference=torch
    },
)
