"""Person representations and data for SwapGAN (thesis 8.2.1): keypoints, pose maps, parsing
regrouped to coarse classes, masks, head maps, the synthetic persons and the DeepFashion layout."""

# Which person datasets the trainers read (TensorFlow-free, so configs can name them cheaply).
# deepfashion-swap: a selection folder made by ``python -m datasets.prepare --name=deepfashion-swap``
# (selection.py) over a DeepFashion folder.
PERSON_DATASETS = ("synthetic", "deepfashion", "deepfashion-swap")
PERSON_DATA_DIRS = {"synthetic": "data/synthetic-persons", "deepfashion": "data/deepfashion",
                    "deepfashion-swap": "data/deepfashion-swap"}
