"""A pretrained transformer text encoder as an `MModel`: Text → pooled embeddings.

The tokenizer travels with the model: `preprocess` tokenizes with dynamic padding (to the longest
text of the batch, truncated at `max_length`), which is the largest practical speed-up on CPU
since real texts are much shorter than the maximum.  Inputs are texts, or `(question, context)`
pairs (dicts with `question`/`context` also work) for span extraction.

Saved models (`mlang.models.serialize`) keep the transformer's config in their JSON config, the
tokenizer files in `files` and the weights in `tensors`, so restoring needs no zoo package.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.module import MModel
from mlang.models.spec import ModelSpec

POOLINGS = ("mean", "cls", "max", "none")
B = T.Sym("B")


def check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise MError(f"unknown pooling {pooling!r}", field="pooling",
                     hint=f"pooling is one of: {', '.join(POOLINGS)}")
    return pooling


class TextEncoderModel(MModel):
    """A Hugging Face transformer plus its tokenizer, pooling token states into one vector per text."""

    kind = "text_encoder"

    def __init__(self, transformer, tokenizer, *, source: str, pooling: str = "mean",
                 max_length: int = 256, normalize: bool = False):
        self.pooling = check_pooling(pooling)
        if not isinstance(max_length, int) or max_length < 2:
            raise MError(f"max_length must be an integer >= 2, got {max_length!r}", field="max_length")
        dim = transformer.config.hidden_size
        dims = (B, T.Sym("T"), dim) if pooling == "none" else (B, dim)
        output = T.TensorType("float32", dims)
        spec = ModelSpec(source if "/" not in source else Path(source).name, input_type=T.TEXT,
                         output_type=output)
        super().__init__(spec, task="embedding")
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.source = source
        self.max_length = min(max_length, getattr(transformer.config, "max_position_embeddings", max_length))
        self.normalize = normalize
        self.hidden_size = dim

    # ----- inputs ------------------------------------------------------------------------------
    def preprocess(self, inputs: list) -> dict:
        """Texts (or question/context pairs) → input_ids, attention_mask[, token_type_ids]."""
        if isinstance(inputs, (str, tuple, dict)):
            inputs = [inputs]
        if not inputs:
            raise MError(f"{self.spec.name}: nothing to encode (an empty list of texts)")
        first, second = [], []
        for index, item in enumerate(inputs):
            text, pair = _text_and_pair(item, index)
            first.append(text)
            second.append(pair)
        paired = any(p is not None for p in second)
        if paired and any(p is None for p in second):
            raise MError("mix of single texts and (question, context) pairs in one batch", field="inputs")
        encoded = self.tokenizer(first, second if paired else None, padding="longest",
                                 truncation="only_second" if paired else True,
                                 max_length=self.max_length, return_tensors="pt",
                                 return_offsets_mapping=paired)
        # Pairs are for span extraction: the character offsets map answer tokens back to text.
        return {key: value for key, value in encoded.items()
                if key in ("input_ids", "attention_mask", "token_type_ids", "offset_mapping")}

    def example_inputs(self, batch_size: int = 2) -> dict:
        return self.preprocess(["M makes a pretrained model a value."] * batch_size)

    # ----- computation -------------------------------------------------------------------------
    def compute(self, input_ids, attention_mask=None, token_type_ids=None, **_unused) -> torch.Tensor:
        """Pooled states; `_unused` absorbs what preprocess adds for others (offset_mapping)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.transformer(**kwargs).last_hidden_state
        pooled = pool(hidden, attention_mask, self.pooling)
        return torch.nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    # ----- serialization -----------------------------------------------------------------------
    def tokenizer_files(self, prefix: str = "") -> dict[str, bytes]:
        """The tokenizer as Hugging Face saves it (`tokenizer.json`, ...), under `PREFIXtokenizer/`:
        what a saved model restores it from and what an export gives other languages."""
        with tempfile.TemporaryDirectory() as directory:
            self.tokenizer.save_pretrained(directory)
            return {f"{prefix}tokenizer/{path.name}": path.read_bytes()
                    for path in sorted(Path(directory).iterdir())}

    def config(self, files: dict, prefix: str = "") -> dict:
        files.update(self.tokenizer_files(prefix))
        return {"source": self.source, "pooling": self.pooling, "max_length": self.max_length,
                "normalize": self.normalize, "transformer": self.transformer.config.to_dict()}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = "") -> "TextEncoderModel":
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        settings = dict(config["transformer"])
        transformer = AutoModel.from_config(AutoConfig.for_model(**settings))
        with tempfile.TemporaryDirectory() as directory:
            marker = f"{prefix}tokenizer/"
            for name, data in files.items():
                if name.startswith(marker) and "/" not in name[len(marker):]:
                    (Path(directory) / name[len(marker):]).write_bytes(data)
            tokenizer = AutoTokenizer.from_pretrained(directory)
        return cls(transformer, tokenizer, source=config["source"], pooling=config["pooling"],
                   max_length=config["max_length"], normalize=config.get("normalize", False))

    @classmethod
    def from_directory(cls, directory: str, *, source: str, pooling: str = "mean",
                       max_length: int = 256, normalize: bool = False) -> "TextEncoderModel":
        """Load weights and tokenizer from a local Hugging Face directory (never the hub)."""
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        check_pooling(pooling)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            transformer = AutoModel.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as error:
            raise MError(f"cannot load a text encoder from {directory}: {error}",
                         field="pretrained_model",
                         hint="the directory needs config.json, weights and tokenizer files") from None
        finally:
            hf_logging.set_verbosity(verbosity)
            hf_logging.enable_progress_bar()
        return cls(transformer, tokenizer, source=source, pooling=pooling, max_length=max_length,
                   normalize=normalize)


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Token states [B, T, D] → [B, D] (mean over real tokens, first token, or max), or unchanged."""
    if pooling == "none":
        return hidden
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "max":
        return hidden.masked_fill(weights == 0, torch.finfo(hidden.dtype).min).max(dim=1).values
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _text_and_pair(item, index: int) -> tuple[str, str | None]:
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and "question" in item and "context" in item:
        item = (item["question"], item["context"])
    if isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(s, str) for s in item):
        return item[0], item[1]
    raise MError(f"input {index} is a {type(item).__name__}, not a text or a (question, context) pair",
                 field="inputs", hint="text models take strings")
