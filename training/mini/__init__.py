"""The embedded default model set: a mini CLIP, GAN and GPT-2 trained on scikit-learn's digits."""
