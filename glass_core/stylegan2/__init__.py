"""StyleGAN2 config-f: our own networks, safe readers for NVIDIA's pickles, and the generator adapter."""
