"""Export a model to ONNX, TorchScript or a self-contained safetensors artifact.

ONNX is the path to other languages (ONNX Runtime has Java, C++, C#, JavaScript APIs): the graph
has a dynamic batch dimension, and a dynamic sequence dimension for token inputs, and every export
is checked against the torch model's own outputs before it is written out as done.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from mlang.engine.runnable import Runnable
from mlang.lang.diagnostics import MError

FORMATS = ("onnx", "torchscript", "safetensors")
OPSET = 18


def export(model, path, format: str | None = None, *, example: Any = None, verify: bool = True,
           atol: float = 1e-4, trust_code=None) -> Path:
    """Write `model` to `path` as `format` (default: from the file suffix, else onnx).

    `example` (a batch of raw inputs, or preprocessed features) is only needed for models that
    do not provide `example_inputs()`.  With `verify`, the written file is loaded back and run on
    a batch of a different size than the one traced, and must match torch within `atol`.
    A model file whose model carries code is read only with `trust_code` (`mlang.models.trust`).
    """
    path = Path(path)
    format = (format or _format_from_suffix(path)).lower()
    if format not in FORMATS:
        raise MError(f"unknown export format {format!r}", field="format",
                     hint=f"use one of: {', '.join(FORMATS)}")
    runnable = model if isinstance(model, Runnable) else Runnable(_resolve(model, trust_code))
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "safetensors":
        from mlang.engine.artifact import save_artifact

        save_artifact(runnable.model, path)
        return path
    features = _example_features(runnable, example)
    writer = export_onnx if format == "onnx" else export_torchscript
    try:
        writer(runnable, path, features, verify=verify, atol=atol)
    except MError:
        _remove_export(path)  # a file that failed verification must not be mistaken for a good one
        raise
    return path


def _remove_export(path: Path) -> None:
    import shutil

    path.unlink(missing_ok=True)
    Path(f"{path}.json").unlink(missing_ok=True)
    shutil.rmtree(f"{path}.files", ignore_errors=True)


def _format_from_suffix(path: Path) -> str:
    return {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript",
            ".safetensors": "safetensors", ".bin": "safetensors"}.get(path.suffix.lower(), "onnx")


def _resolve(model, trust_code):
    if isinstance(model, (str, Path)):
        from mlang.engine.artifact import load_model_ref

        return load_model_ref(model, trust_code=trust_code)
    return model


def _example_features(runnable: Runnable, example) -> dict[str, Any]:
    import torch

    if example is None:
        return runnable.example_inputs(batch_size=2)
    if isinstance(example, dict):
        return dict(example)
    if isinstance(example, torch.Tensor) and not runnable.follows_contract:
        return {"x": example}
    return runnable.preprocess(list(example))


def dynamic_axes(features: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Batch is dynamic for every input; for token inputs (integer, rank ≥ 2) so is dim 1."""
    axes = {}
    for name, tensor in features.items():
        axes[name] = {0: "batch"}
        if not tensor.is_floating_point() and tensor.dim() >= 2:
            axes[name][1] = "sequence"
    return axes


def _positional(runnable: Runnable, names: list[str]):
    """A module taking the features positionally, in `names` order (what exporters trace)."""
    import torch

    class PositionalModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = runnable.model  # registered so its parameters are exported

        def forward(self, *tensors):
            return runnable(dict(zip(names, tensors)))

    return PositionalModel().eval()


def export_onnx(runnable: Runnable, path: Path, features: dict[str, Any], *, verify: bool = True,
                atol: float = 1e-4, sidecar: bool = True) -> Path:
    """The model as ONNX (its int8 layers with their int8 weights dequantized: the int8 kernels
    are not ONNX operators), checked against torch computing the same way."""
    from mlang.optimize.layers import dequantized_math

    with dequantized_math():
        return _export_onnx(runnable, path, features, verify=verify, atol=atol, sidecar=sidecar)


def _export_onnx(runnable: Runnable, path: Path, features: dict[str, Any], *, verify: bool,
                 atol: float, sidecar: bool) -> Path:
    names = list(features)
    module = _positional(runnable, names)
    runnable.model.to("cpu")
    args = tuple(t.cpu() for t in features.values())
    axes = dynamic_axes(features)
    try:
        _onnx_export(module, args, path, names, axes, dynamo=False)
    except Exception:  # noqa: BLE001 - retried with the other exporter, whose error is reported
        # The TorchScript-based exporter is 3-4x faster (MiniLM: 3 s vs 11 s) but rejects or
        # miscompiles some graphs (e.g. a Transpose with negative axes); the dynamo exporter is
        # the fallback for those.
        try:
            _onnx_export(module, args, path, names, axes, dynamo=True)
        except Exception as error:  # noqa: BLE001 - the exporters raise many types; report them alike
            raise MError(f"ONNX export of {runnable.name} failed: {error}", field="model",
                         hint="export needs a model whose forward is traceable (no Python-side "
                              "data-dependent control flow)") from error
    if sidecar:
        _write_sidecar(runnable, path, features, axes)
    if verify:
        verify_onnx(runnable, path, features, atol=atol)
    return path


def _onnx_export(module, args, path: Path, names: list[str], axes: dict, *, dynamo: bool) -> None:
    """Export with one of torch's two exporters; the graph must then load in ONNX Runtime."""
    import onnxruntime as ort
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporters' deprecation chatter is not the user's concern
        if dynamo:
            # forward(*tensors): the varargs are one tuple argument to torch.export
            dims = {name: {axis: torch.export.Dim.AUTO for axis in dyn} for name, dyn in axes.items()}
            torch.onnx.export(module, args, str(path), input_names=names, output_names=["output"],
                              dynamic_shapes=(tuple(dims[name] for name in names),), dynamo=True,
                              external_data=False, verbose=False, opset_version=OPSET)
        else:
            torch.onnx.export(module, args, str(path), input_names=names, output_names=["output"],
                              dynamic_axes={**axes, "output": {0: "batch"}}, opset_version=OPSET,
                              dynamo=False)
    ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # type-checks the graph


def _write_sidecar(runnable: Runnable, path: Path, features, axes) -> None:
    """`model.onnx.json` (input names, dtypes, dynamic axes, labels) and the model's auxiliary files
    (tokenizer, vocabulary) under `model.onnx.files/`, so callers in other languages can prepare inputs."""
    info = {
        "model": runnable.name,
        "inputs": [{"name": n, "dtype": str(t.dtype).removeprefix("torch."),
                    "shape": [axes[n].get(i, d) for i, d in enumerate(t.shape)]}
                   for n, t in features.items()],
        "outputs": [{"name": "output"}],
        "task": runnable.task,
        "labels": runnable.labels,
        "input_type": str(runnable.input_type) if runnable.input_type is not None else None,
        "files": _write_aux_files(runnable, Path(f"{path}.files")),
    }
    Path(f"{path}.json").write_text(json.dumps(info, indent=2))


def _write_aux_files(runnable: Runnable, folder: Path) -> list[str]:
    """What a caller needs to prepare inputs: the tokenizer of each text encoder in the model
    (under `tokenizer/`, or `MODULE.PATH/tokenizer/` when there are several)."""
    encoders = [(name, module) for name, module in runnable.model.named_modules()
                if hasattr(module, "tokenizer_files")]
    files: dict[str, bytes] = {}
    for name, module in encoders:
        files.update(module.tokenizer_files("" if len(encoders) == 1 else f"{name}/"))
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return sorted(f"{folder.name}/{name}" for name in files)


def verification_batch(features: dict[str, Any]) -> dict[str, Any]:
    """A batch of another size (and, for tokens, another length) than the traced one.

    Checking the exported graph on exactly the traced shapes would not catch a dimension that was
    frozen to a constant during export.
    """
    import torch

    out = {}
    for name, tensor in features.items():
        batch = torch.cat([tensor, tensor[:1]], dim=0)
        if not tensor.is_floating_point() and tensor.dim() >= 2 and tensor.shape[1] > 2:
            batch = batch[:, :-1]  # one token shorter; a mask stays valid, ids stay in range
        out[name] = batch.contiguous()
    return out


def verify_onnx(runnable: Runnable, path: Path, features: dict[str, Any], *, atol: float = 1e-4) -> float:
    """Max |onnx − torch| on a fresh batch shape; raises MError beyond `atol`."""
    import numpy as np
    import onnxruntime as ort
    import torch

    batch = verification_batch(features)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: t.numpy() for n, t in batch.items()})[0]
    with torch.inference_mode():
        expected = runnable(batch).float().numpy()
    return _check_close(runnable, "ONNX", got, expected, atol, np)


def _check_close(runnable, what: str, got, expected, atol: float, np) -> float:
    if got.shape != expected.shape:
        raise MError(f"{what} export of {runnable.name} gives shape {list(got.shape)}, torch gives "
                     f"{list(expected.shape)}", field="model")
    error = float(np.max(np.abs(got - expected))) if got.size else 0.0
    if not error <= atol:
        raise MError(f"{what} export of {runnable.name} differs from torch by {error:.3g} (> {atol:g})",
                     field="model", hint="the model may behave differently when traced; "
                                         "pass verify=False to keep the file anyway")
    return error


def export_torchscript(runnable: Runnable, path: Path, features: dict[str, Any], *, verify: bool = True,
                       atol: float = 1e-4) -> Path:
    import numpy as np
    import torch

    module = _positional(runnable, list(features))
    runnable.model.to("cpu")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            traced = torch.jit.trace(module, tuple(features.values()), check_trace=False)
        except Exception as error:  # noqa: BLE001
            raise MError(f"TorchScript export of {runnable.name} failed: {error}", field="model") from error
        traced.save(str(path))
    if verify:
        loaded = torch.jit.load(str(path))
        batch = verification_batch(features)
        with torch.inference_mode():
            got = loaded(*batch.values()).float().numpy()
            expected = runnable(batch).float().numpy()
        _check_close(runnable, "TorchScript", got, expected, atol, np)
    return path
