"""Class genes to a class-conditioning vector, shared by BigGAN and the mini GAN."""

from __future__ import annotations

import numpy as np

# The paper's code fed the 0/1 class genes through a softmax: with 1000 classes an "on" gene
# weighs e/(999+e) = 0.27 % against 0.1 % for an "off" one, so the class vector was almost
# uniform and the genes barely mattered. Here the selected classes share the whole mass
# equally (each of k "on" genes weighs 1/k, the others 0): what the search selects is what the
# generator is conditioned on. A genome with no gene on gets the zero vector, i.e. no class.


def bits_to_class_vector(bits: np.ndarray) -> np.ndarray:
    """(N, C) 0/1 genes to (N, C) class vectors whose rows sum to 1 (or are all zero)."""
    bits = (np.asarray(bits) > 0.5).astype(np.float32)
    counts = bits.sum(axis=1, keepdims=True)
    return bits / np.maximum(counts, 1.0)
