"""Class genes to a class-conditioning vector, shared by BigGAN and the mini GAN."""

from __future__ import annotations

from typing import Literal

import numpy as np

# The paper's code fed the 0/1 class genes through a softmax: with 1000 classes an "on" gene
# weighs e/(999+e) = 0.27 % against 0.1 % for an "off" one, so the class vector was almost
# uniform and the genes barely mattered. Here the selected classes share the whole mass
# equally (each of k "on" genes weighs 1/k, the others 0): what the search selects is what the
# generator is conditioned on. A genome with no gene on is the one case where the two agree
# for BigGAN: the paper's softmax of all-zero genes is the uniform vector, which BigGAN was
# trained near (every row of its class input sums to 1); the zero vector is off that
# distribution. The mini GAN was trained with the zero vector as "no class", so it keeps it.

EmptyClass = Literal["uniform", "zero"]


def bits_to_class_vector(bits: np.ndarray, empty: EmptyClass = "zero") -> np.ndarray:
    """(N, C) 0/1 genes to (N, C) class vectors: 1/k on each of k genes that are on; `empty` for none."""
    bits = (np.asarray(bits) > 0.5).astype(np.float32)
    counts = bits.sum(axis=1, keepdims=True)
    out = bits / np.maximum(counts, 1.0)
    if empty == "uniform":
        out[counts[:, 0] == 0] = 1.0 / bits.shape[1]
    return out
