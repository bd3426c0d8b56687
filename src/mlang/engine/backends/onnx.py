"""ONNX Runtime, fp32: the model is exported once (cached under $M_HOME by model hash) and run
with every ORT graph optimization (constant folding, operator fusion, layout changes) enabled.

An int8 model (`quantize(bits=8)`) exports its int8 weights dequantized, so this backend runs it
in float; `onnx-int8` runs the same int8 weights with ORT's integer kernels."""
from __future__ import annotations

from pathlib import Path

from mlang.engine.backends.base import Backend


class OnnxBackend(Backend):
    name = "onnx"

    def __init__(self, runnable, device, num_threads=None, **options):
        import onnxruntime as ort

        super().__init__(runnable, device, num_threads, **options)
        path = self.graph_path()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT's graph-rewrite notes are not the user's
        if num_threads:
            options.intra_op_num_threads = num_threads
        # ORT's workers spin between runs by default; in a server that takes the cores the event
        # loop needs to read requests (measured under m serve: slower than torch eager with it)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def graph_path(self) -> Path:
        """The fp32 ONNX graph for this model, exported on first use and cached by model hash."""
        from mlang.engine.cache import cache_dir, model_hash
        from mlang.engine.exporter import GRAPH_VERSION, export_onnx

        features = self.example if self.example is not None else self.runnable.example_inputs(batch_size=2)
        key = model_hash(self.runnable.model, extra=f"graph {GRAPH_VERSION} "
                         + repr({n: (t.dtype, t.dim()) for n, t in features.items()}))
        path = cache_dir("onnx") / f"{key}.onnx"
        if not path.exists():
            partial = path.with_suffix(".partial.onnx")
            export_onnx(self.runnable, partial, features, sidecar=False)
            partial.replace(path)  # only a verified export lands under the final name
        return path

    def __call__(self, features):
        import torch

        feeds = {name: features[name].detach().cpu().numpy() for name in self.input_names}
        return torch.from_numpy(self.session.run(None, feeds)[0]).float()
