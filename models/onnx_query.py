"""ONNX Runtime copy of the transformer, for short queries: same fp32 numbers, less overhead."""

from __future__ import annotations

import io
import logging
import time
import warnings

import numpy as np
import torch

log = logging.getLogger(__name__)

# Inputs a BERT-like transformer may take; the graph keeps those the tokenizer produces.
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_available() -> bool:
    """True when ONNX Runtime and the `onnx` package (which torch's exporter needs) import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _LastHidden(torch.nn.Module):
    """The transformer as a function of positional tensors, returning token embeddings."""

    def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, tensors, strict=True))).last_hidden_state


class OnnxTransformer:
    """Runs the first module of a sentence-transformers model (the transformer) in ONNX Runtime.

    Built from an fp32 copy of the model by exporting the graph in memory (a few seconds, once
    per process); inputs are the tokenizer's features, the output replaces `token_embeddings`.
    `threads`: intra-op threads, one per physical core (2 idle cores: 2.7 ms per SciFact claim
    instead of 3.8-4.1 ms with one thread; torch fp32 takes 8.9 ms).
    """

    def __init__(self, transformer: torch.nn.Module, sample: dict, *, threads: int = 1) -> None:
        import onnxruntime as ort

        started = time.perf_counter()
        self.names = [name for name in _INPUTS if name in sample]
        wrapper = _LastHidden(transformer.eval(), self.names).float()
        buffer = io.BytesIO()
        axes = {name: {0: "batch", 1: "tokens"} for name in [*self.names, "token_embeddings"]}
        # The tracer warns about shape checks it freezes; BERT's are constant for any input here.
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                tuple(sample[name] for name in self.names),
                buffer,
                input_names=self.names,
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,  # the tracing exporter needs no onnxscript and handles BERT fine
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Workers spin between runs (ONNX Runtime's default): on 2 idle cores a SciFact claim
        # takes 2.7 ms instead of 3.8-4.9 ms with sleeping workers. On cores kept busy by other
        # processes spinning costs more (16 ms instead of 10 ms), a case we do not optimise for.
        self._session = ort.InferenceSession(
            buffer.getvalue(), options, providers=["CPUExecutionProvider"]
        )
        log.info("ONNX Runtime query path ready in %.1fs", time.perf_counter() - started)

    def token_embeddings(self, features: dict) -> torch.Tensor:
        """Token embeddings (batch, tokens, dim) float32 for tokenizer features."""
        feeds = {name: np.asarray(features[name], dtype=np.int64) for name in self.names}
        (out,) = self._session.run(["token_embeddings"], feeds)
        return torch.from_numpy(out)
