"""The embedded mini GAN's networks and the renderer it draws with."""
