"""Training of the embedded default model set (weights/mini): data, trainers and the independent judge."""
