"""Person representations and data for SwapGAN (thesis 8.2.1): keypoints, pose maps, parsing
regrouped to coarse classes, masks, head maps, the synthetic persons and the DeepFashion layout."""

# Which person datasets the trainers read (TensorFlow-free, so configs can name them cheaply).
PERSON_DATASETS = ("synthetic", "deepfashion")
PERSON_DATA_DIRS = {"synthetic": "data/synthetic-persons", "deepfashion": "data/deepfashion"}
