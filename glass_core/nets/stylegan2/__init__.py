"""StyleGAN2 config-f: our own networks and safe readers for NVIDIA's pickles."""
