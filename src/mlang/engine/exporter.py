"""Export a model to ONNX, TorchScript, AOTInductor or a self-contained safetensors artifact.

ONNX is the path to other languages (ONNX Runtime has Java, C++, C#, JavaScript APIs); TorchScript
and AOTInductor packages (`.pt2`) run in C++ with libtorch.  Every graph has a dynamic batch
dimension, and a dynamic sequence dimension for token inputs, and every export is checked against
the torch model's own outputs before it is written out as done.

Beside each graph `PATH` go `PATH.json` (the sidecar, one format for every graph format: inputs,
outputs, labels, task and how to prepare raw inputs — `SIDECAR_FORMAT`, documented field by field
in docs/interop/README.md) and `PATH.files/` (the tokenizer a text model needs).
"""
from __future__ import annotations

import contextlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from mlang.engine.runnable import Runnable
from mlang.lang.diagnostics import MError

FORMATS = ("onnx", "torchscript", "safetensors", "aoti")
GRAPH_FORMATS = ("onnx", "torchscript", "aoti")
OPSET = 18
PRECISIONS = ("plan", "fp32", "int8")
SIDECAR_FORMAT = "mlang.export/1"


def export(model, path, format: str | None = None, *, example: Any = None, verify: bool = True,
           atol: float = 1e-4, precision: str = "plan", trust_code=None) -> Path:
    """Write `model` to `path` as `format` (default: from the file suffix, else onnx).

    `example` (a batch of raw inputs, or preprocessed features) is only needed for models that
    do not provide `example_inputs()`.  With `verify`, the written file is loaded back and run on
    a batch of a different size than the one traced, and must match torch within `atol`.
    `precision` ("plan", "fp32" or "int8") is the ONNX graph's: by default the model's execution
    plan's, so a model `optimize` planned as `onnx-int8` exports the int8 graph M runs; an int8
    graph is verified against torch by the plan's own budget (min cosine of output rows).
    A model file whose model carries code is read only with `trust_code` (`mlang.models.trust`).
    """
    path = Path(path)
    format = (format or _format_from_suffix(path)).lower()
    if format not in FORMATS:
        raise MError(f"unknown export format {format!r}", field="format",
                     hint=f"use one of: {', '.join(FORMATS)}")
    if precision not in PRECISIONS:
        raise MError(f"unknown export precision {precision!r}", field="precision",
                     hint=f"use one of: {', '.join(PRECISIONS)}")
    runnable = model if isinstance(model, Runnable) else Runnable(_resolve(model, trust_code))
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "safetensors":
        from mlang.engine.artifact import save_artifact

        save_artifact(runnable.model, path)
        return path
    features = _example_features(runnable, example)
    writer = {"onnx": export_onnx, "torchscript": export_torchscript, "aoti": export_aoti}[format]
    if format == "onnx" and graph_precision(runnable.model, precision) == "int8":
        writer = export_onnx_int8
    elif precision == "int8":
        raise MError(f"an int8 {format} export is not supported", field="precision",
                     hint="int8 graphs are written for format='onnx' (ONNX Runtime's integer kernels)")
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
    return {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript", ".pt2": "aoti",
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
    """Batch is dynamic for every input; for token inputs (integer, rank ≥ 2) so is dim 1, and
    for windowed token inputs ([batch, windows, sequence]: a text encoder's chunking="windows")
    so are dims 1 and 2."""
    axes = {}
    for name, tensor in features.items():
        axes[name] = {0: "batch"}
        if not tensor.is_floating_point() and tensor.dim() == 3:
            axes[name].update({1: "windows", 2: "sequence"})
        elif not tensor.is_floating_point() and tensor.dim() >= 2:
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
    refuse_control_flow(runnable, "ONNX")
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
    if verify:
        verify_onnx(runnable, path, features, atol=atol)
    if sidecar:
        write_sidecar(runnable, path, features, "onnx")
    return path


def graph_precision(model, precision: str = "plan") -> str:
    """The precision of the ONNX graph `export` writes: `precision`, or for "plan" the execution
    plan's when the plan runs ONNX Runtime int8, else fp32."""
    if precision != "plan":
        return precision
    plan = _plan(model)
    return "int8" if plan is not None and plan["backend"] == "onnx-int8" else "fp32"


def export_onnx_int8(runnable: Runnable, path: Path, features: dict[str, Any], *, verify: bool = True,
                     atol: float = 1e-4) -> Path:
    """The verified fp32 graph quantized as the `onnx-int8` backend quantizes it (one int8
    concept: `engine.backends.onnx_int8.quantize_graph`), then checked against torch fp32 with the
    plan's budget: int8 is not within `atol` of fp32, by design."""
    from mlang.engine.backends.onnx_int8 import quantize_graph

    fp32 = path.with_name(path.stem + ".fp32.onnx")
    try:
        export_onnx(runnable, fp32, features, verify=verify, atol=atol, sidecar=False)
        quantize_graph(fp32, path)
    finally:
        fp32.unlink(missing_ok=True)
    if verify:
        verify_int8_onnx(runnable, path, features)
    write_sidecar(runnable, path, features, "onnx", precision="int8")
    return path


def verify_int8_onnx(runnable: Runnable, path: Path, features: dict[str, Any]) -> float:
    """Min cosine between the int8 graph's output rows and torch's on a fresh batch shape; raises
    MError below the plan's MIN_COSINE."""
    import numpy as np

    from mlang.optimize.plan import MIN_COSINE

    got, expected = _onnx_and_torch(runnable, path, features, "int8 ONNX")
    if got.shape != expected.shape:
        raise MError(f"int8 ONNX export of {runnable.name} gives shape {list(got.shape)}, torch gives "
                     f"{list(expected.shape)}", field="model")
    rows, reference = got.reshape(len(got), -1), expected.reshape(len(expected), -1)
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(reference, axis=1)
    cosine = float(np.min(np.sum(rows * reference, axis=1) / np.maximum(norms, 1e-12)))
    if not cosine >= MIN_COSINE:
        raise MError(f"int8 ONNX export of {runnable.name} has min cosine {cosine:.3f} with torch fp32 "
                     f"(< {MIN_COSINE})", field="model",
                     hint="export with precision='fp32' (m export --precision fp32), or pass "
                          "verify=False to keep the int8 file anyway")
    return cosine


def data_dependent_branch(model):
    """(model name, construct, span) of the first `if` or `while` in a `forward` block of `model`
    or of a model inside it, else None.  A traced graph keeps only the branch the example took,
    so such a model would export silently wrong for other inputs."""
    from mlang.lang import ast as A
    from mlang.lang.parser import parse

    for module in model.modules():
        spec = getattr(module, "spec", None)
        if getattr(spec, "forward", None) is None or not getattr(spec, "source", None):
            continue
        filename = spec.span.file if spec.span is not None else f"<{spec.name}>"
        for decl in A.walk(parse(spec.source, filename)):
            if isinstance(decl, A.ModelDecl) and decl.name == spec.name and decl.forward is not None:
                for node in A.walk(decl.forward):
                    if isinstance(node, (A.If, A.While)):
                        return spec.name, "if" if isinstance(node, A.If) else "while", node.span
    return None


def refuse_control_flow(runnable: Runnable, what: str) -> None:
    """A graph export of a model whose forward block branches is an MError naming the construct
    and its line."""
    found = data_dependent_branch(runnable.model)
    if found is not None:
        name, construct, span = found
        raise MError(f"{what} export of {runnable.name}: the forward block of {name} has Python "
                     f"control flow (`{construct}` at {span}), which a graph cannot follow — it would "
                     f"keep only the branch the example input took", field="model",
                     hint="run it with backend='eager' (or 'compile'); to export it, write the branch "
                          "as tensor arithmetic (e.g. torch.where) instead of `if`/`while`")


def _onnx_export(module, args, path: Path, names: list[str], axes: dict, *, dynamo: bool) -> None:
    """Export with one of torch's two exporters; the graph must then load in ONNX Runtime."""
    import onnxruntime as ort
    import torch

    with warnings.catch_warnings(), torch.no_grad(), _eager_attention(module):
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


# Part of the cache key of exported graphs: bump it when the exporter writes a different graph.
GRAPH_VERSION = 3  # 2: transformers' attention exported as "eager"; 3: BERT-style encoders packed
# (their token-wise layers on the real tokens only: zoo.text_encoder.packed_states)


@contextlib.contextmanager
def _eager_attention(module):
    """Hugging Face transformers inside `module` export their attention as "eager" (the same
    function): SDPA's export masks every layer's scores with Where/IsNaN ops, 10 % of MiniLM's int8
    graph at 32 x 128 on a 2-core AVX2 CPU, where eager's mask is one Add (docs/engine.md)."""
    transformers = sys.modules.get("transformers")  # not imported: no transformer in `module`
    switched = [] if transformers is None else [
        m for m in module.modules() if isinstance(m, transformers.PreTrainedModel)
        and getattr(m.config, "_attn_implementation", None) == "sdpa"]
    for model in switched:
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        for model in switched:
            model.set_attn_implementation("sdpa")


def write_sidecar(runnable: Runnable, path: Path, features: dict[str, Any], export_format: str,
                  precision: str = "fp32") -> dict:
    """`PATH.json` — what a caller in another language needs besides the graph: the inputs (names
    in call order, dtypes, shapes with `"batch"` / `"sequence"` for the dynamic dims), the output,
    labels, task and how to turn raw examples into the inputs (`preprocessing`) — and the model's
    auxiliary files (tokenizer) under `PATH.files/`.  The same format for every graph format."""
    folder = Path(f"{path}.files")
    axes = dynamic_axes(features)
    info = {
        "format": SIDECAR_FORMAT,
        "export_format": export_format,
        "file": path.name,
        "model": runnable.name,
        "task": runnable.task,
        "labels": runnable.labels,
        "input_type": str(runnable.input_type) if runnable.input_type is not None else None,
        "inputs": [{"name": n, "dtype": _dtype_name(t),
                    "shape": [axes[n].get(i, d) for i, d in enumerate(t.shape)]}
                   for n, t in features.items()],
        "outputs": [_output_spec(runnable, features)],
        "files": _write_aux_files(runnable, folder),
        "execution_plan": _plan(runnable.model),
        "precision": precision,  # the graph's weights: fp32, or int8 (per channel, dynamic uint8 activations)
        # The image transforms (PIL: grey, resize, crop, normalize) raw inputs go through before
        # `preprocessing`; not in the graph, so a caller applies them (mlang.data.transforms).
        "input_transforms": [step.record() for step in runnable.input_steps],
    }
    info["preprocessing"] = preprocessing(runnable, folder.name)
    Path(f"{path}.json").write_text(json.dumps(info, indent=2))
    return info


def _plan(model) -> dict | None:
    """The execution plan `optimize` chose (backend, precision, device), so a runtime in another
    language can run the graph as M would (e.g. quantize it to int8 per channel)."""
    from mlang.optimize.plan import execution_plan

    plan = execution_plan(model)
    return plan.to_dict() if plan is not None else None


def _dtype_name(tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _output_spec(runnable: Runnable, features: dict[str, Any]) -> dict:
    """The output's dtype and shape, its dynamic dims found by running the model on two batch
    shapes: dim 0 is `"batch"`; another dim that follows the token length is `"sequence"`."""
    import torch

    from mlang.optimize.layers import dequantized_math

    with torch.inference_mode(), dequantized_math():
        first = runnable(features)
        try:
            second = runnable(verification_batch(features))
        except Exception:  # noqa: BLE001 - a model fixed to one batch size (exported with verify=False)
            second = first
    shape: list = list(first.shape)
    for i, (a, b) in enumerate(zip(first.shape, second.shape)):
        if a != b or i == 0:
            shape[i] = "batch" if i == 0 else "sequence"
    return {"name": "output", "dtype": _dtype_name(first), "shape": shape}


def preprocessing(runnable: Runnable, folder: str) -> dict:
    """How raw examples become the graph's inputs, as the model's own `preprocess` does it.

    text: the tokenizer file, `max_length` (truncation), padding to the longest text of a batch
    with `pad_token_id`; image: size, resize and crop, channel order and layout, scale to 0–1,
    and the `mean` / `std` the caller subtracts and divides by (0 and 1 when the graph normalizes
    itself, which `in_graph_normalization` then states); tensor: nothing (the graph takes the
    numbers as they are)."""
    from mlang.lang import types as T

    encoder = _first(runnable.model, lambda module: hasattr(module, "tokenizer_files"))
    if isinstance(runnable.input_type, T.TextType) and encoder is not None:
        prefix = _module_prefix(runnable.model, encoder)
        tokenizer = encoder.tokenizer
        return {"kind": "text",
                "tokenizer": f"{folder}/{prefix}tokenizer/tokenizer.json",
                "max_length": encoder.max_length, **encoder.chunking_settings(),
                "truncation": "longest_first", "truncation_side": tokenizer.truncation_side,
                "padding": "longest", "padding_side": tokenizer.padding_side,
                "pad_token_id": tokenizer.pad_token_id,
                "add_special_tokens": True,
                "outputs": [name for name in ("input_ids", "attention_mask", "token_type_ids")
                            if name in tokenizer.model_input_names]}
    if isinstance(runnable.input_type, T.ImageType):
        return _image_preprocessing(runnable)
    return {"kind": "tensor"}


def _image_preprocessing(runnable: Runnable) -> dict:
    from mlang.lang import types as T

    first = _first_part(runnable.model)
    hook = getattr(first, "image_preprocessing", None)
    if callable(hook):  # a model that preprocesses images its own way says how
        return dict(hook())
    image = runnable.input_type
    channels = image.channels if isinstance(image.channels, int) else 3
    info: dict[str, Any] = {"kind": "image", "channels": channels,
                            "channel_order": "RGB" if channels == 3 else "grey (mean of R, G, B)",
                            "layout": "NHWC" if getattr(first, "channels_last", False) else "NCHW"}
    if getattr(first, "kind", None) == "efficientnet_lite0":
        from mlang.models.zoo.efficientnet import IMAGE_SIZE, RESIZE

        info.update(size=[IMAGE_SIZE, IMAGE_SIZE],
                    resize={"shorter_side": RESIZE, "interpolation": "bicubic (PIL)"}, crop="center")
    else:
        size = [d if isinstance(d, int) else None for d in (image.height, image.width)]
        info.update(size=size, resize={"to": size, "interpolation": "bilinear (align_corners=False)"},
                    crop=None)
    info["scale"] = 1 / 255  # uint8 pixels → 0–1
    normalize = _first(runnable.model, _is_normalize)
    if normalize is not None:
        info["in_graph_normalization"] = {"mean": _decimals(normalize.mean), "std": _decimals(normalize.std)}
    info["mean"], info["std"] = [0.0] * channels, [1.0] * channels
    return info


def _decimals(tensor) -> list[float]:
    """float32 values as the shortest decimals that read back as them (0.485, not 0.48500001…)."""
    import numpy as np

    return [float(str(np.float32(v))) for v in tensor.flatten().tolist()]


def _is_normalize(module) -> bool:
    from mlang.models.zoo.imaging import Normalize

    return isinstance(module, Normalize)


def _first_part(model):
    """The model whose `preprocess` a composition uses: its first part, recursively."""
    while getattr(model, "parts", None):
        model = model.parts[0]
    return model


def _first(model, predicate):
    return next((module for _, module in model.named_modules() if predicate(module)), None)


def _module_prefix(model, target) -> str:
    encoders = [module for _, module in model.named_modules() if hasattr(module, "tokenizer_files")]
    if len(encoders) == 1:
        return ""
    return next(f"{name}/" for name, module in model.named_modules() if module is target)


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
            batch = batch[:, :-1]  # one token (or window) shorter; a mask stays valid, ids stay in range
        if not tensor.is_floating_point() and tensor.dim() == 3 and tensor.shape[2] > 2:
            batch = batch[:, :, :-1]  # windows of one token fewer
        out[name] = batch.contiguous()
    return out


def verify_onnx(runnable: Runnable, path: Path, features: dict[str, Any], *, atol: float = 1e-4) -> float:
    """Max |onnx − torch| on a fresh batch shape; raises MError beyond `atol`."""
    import numpy as np

    got, expected = _onnx_and_torch(runnable, path, features, "ONNX")
    return _check_close(runnable, "ONNX", got, expected, atol, np)


def _onnx_and_torch(runnable: Runnable, path: Path, features: dict[str, Any], what: str):
    """The ONNX file's and torch's outputs on the verification batch."""
    import onnxruntime as ort
    import torch

    batch = verification_batch(features)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {n: t.numpy() for n, t in batch.items()}
    got = _run_on_another_shape(runnable, what, lambda: session.run(None, feeds)[0], batch)
    with torch.inference_mode():
        return got, _torch_reference(runnable, batch)


def _torch_reference(runnable: Runnable, batch: dict[str, Any]):
    """What torch computes on the verification batch; a model that itself takes only the traced
    shape cannot be exported with dynamic dims, and says so."""
    try:
        return runnable(batch).float().numpy()
    except Exception as error:  # noqa: BLE001
        shapes = ", ".join(f"{n} {list(t.shape)}" for n, t in batch.items())
        raise MError(f"{runnable.name} fails on inputs of another shape than the example's ({shapes}): "
                     f"{str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}",
                     field="model", hint="exports have a dynamic batch (and token length): the model "
                                         "must take any batch size") from error


def _run_on_another_shape(runnable: Runnable, what: str, run, batch: dict[str, Any]):
    """The exported file run on the verification batch; a file that refuses the shape (a
    dimension frozen during export) is an MError, as a wrong answer is."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001 - ONNX Runtime, TorchScript and AOTI raise many types
        shapes = ", ".join(f"{n} {list(t.shape)}" for n, t in batch.items())
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MError(f"{what} export of {runnable.name} fails on inputs of another shape ({shapes}): {first}",
                     field="model", hint="a dimension was frozen to the traced size; the model's forward "
                                         "must not fix the batch size or the token length") from error


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
                       atol: float = 1e-4, sidecar: bool = True) -> Path:
    """`torch.jit.trace` of the preprocessed-tensor forward (libtorch: `torch::jit::load`)."""
    import numpy as np
    import torch

    refuse_control_flow(runnable, "TorchScript")
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
            got = _run_on_another_shape(runnable, "TorchScript", lambda: loaded(*batch.values()), batch)
            expected = _torch_reference(runnable, batch)
        _check_close(runnable, "TorchScript", got.float().numpy(), expected, atol, np)
    if sidecar:
        write_sidecar(runnable, path, features, "torchscript")
    return path


def export_aoti(runnable: Runnable, path: Path, features: dict[str, Any], *, verify: bool = True,
                atol: float = 1e-4, sidecar: bool = True) -> Path:
    """An AOTInductor package (`.pt2`): `torch.export` with the batch (and token length) dynamic,
    compiled ahead of time to a shared library for this machine's CPU; C++ runs it with
    `torch::inductor::AOTIModelPackageLoader`, Python with `torch._inductor.aoti_load_package`.
    The compile needs a C++ compiler and takes tens of seconds."""
    import shutil

    import torch
    import torch._inductor

    from mlang.optimize.layers import dequantized_math

    if shutil.which("g++") is None and shutil.which("c++") is None:
        raise MError("an AOTInductor export needs a C++ compiler, and none is installed", field="format",
                     hint="install g++ (Debian: apt-get install g++), or export --format torchscript")
    names = list(features)
    module = _positional(runnable, names)
    runnable.model.to("cpu")
    args = tuple(t.cpu() for t in features.values())
    axes = dynamic_axes(features)
    dims = {name: {axis: torch.export.Dim.AUTO for axis in dyn} for name, dyn in axes.items()}
    with warnings.catch_warnings(), torch.no_grad(), dequantized_math():
        warnings.simplefilter("ignore")
        try:
            program = torch.export.export(module, args, dynamic_shapes=(tuple(dims[n] for n in names),),
                                          strict=False)
            torch._inductor.aoti_compile_and_package(program, package_path=str(path))
        except Exception as error:  # noqa: BLE001 - export and inductor raise many types
            raise MError(f"AOTInductor export of {runnable.name} failed: {error}", field="model",
                         hint="export needs a model whose forward is traceable; "
                              "--format torchscript or onnx may still work") from error
    if verify:
        verify_aoti(runnable, path, features, atol=atol)
    if sidecar:
        write_sidecar(runnable, path, features, "aoti")
    return path


def verify_aoti(runnable: Runnable, path: Path, features: dict[str, Any], *, atol: float = 1e-4) -> float:
    """Max |package − torch| on a fresh batch shape; raises MError beyond `atol` or when the
    package refuses the shape (a dimension frozen during export)."""
    import numpy as np
    import torch
    import torch._inductor

    from mlang.optimize.layers import dequantized_math

    batch = verification_batch(features)
    loaded = torch._inductor.aoti_load_package(str(path))
    with torch.inference_mode(), dequantized_math():
        got = _run_on_another_shape(runnable, "AOTInductor", lambda: loaded(*batch.values()), batch)
        expected = _torch_reference(runnable, batch)
    got = got[0] if isinstance(got, (tuple, list)) else got
    return _check_close(runnable, "AOTInductor", got.float().numpy(), expected, atol, np)
