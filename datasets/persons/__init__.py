"""Person representations and data for SwapGAN (thesis 8.2.1): keypoints, pose maps, parsing
regrouped to coarse classes, masks, head maps, the synthetic persons and the DeepFashion layout."""
