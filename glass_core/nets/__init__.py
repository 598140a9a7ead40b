"""Network code: StyleGAN2 config-f and the embedded mini GAN, with the readers of their files."""
