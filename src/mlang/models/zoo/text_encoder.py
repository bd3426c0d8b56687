"""A pretrained transformer text encoder as an `MModel`: Text → pooled embeddings.

The tokenizer travels with the model: `preprocess` tokenizes with dynamic padding (to the longest
text of the batch, truncated at `max_length`), which is the largest practical speed-up on CPU
since real texts are much shorter than the maximum.  Inputs are texts, or `(question, context)`
pairs (dicts with `question`/`context` also work) for span extraction.

Whole documents: `chunking="windows"` cuts each text into windows of `max_length` tokens (each
with its own special tokens; consecutive windows share `stride` tokens, as Hugging Face's
tokenizers count it), keeps the first `max_windows`, encodes every window and pools the window
vectors into one (`window_pooling`: mean or max over the windows a text has).  Its batches are
`input_ids` / `attention_mask` of shape [B, windows, tokens]; a padding window is all zeros in the
mask.

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
from mlang.models.zoo.windows import CHUNKING_FIELDS, check_chunking, check_pooling

B = T.Sym("B")


class TextEncoderModel(MModel):
    """A Hugging Face transformer plus its tokenizer, pooling token states into one vector per text."""

    kind = "text_encoder"

    def __init__(self, transformer, tokenizer, *, source: str, pooling: str = "mean",
                 max_length: int = 256, normalize: bool = False, chunking: str = "none",
                 stride: int = 0, max_windows: int = 4, window_pooling: str = "mean"):
        self.pooling = check_pooling(pooling)
        if not isinstance(max_length, int) or max_length < 2:
            raise MError(f"max_length must be an integer >= 2, got {max_length!r}", field="max_length")
        max_length = min(max_length, getattr(transformer.config, "max_position_embeddings", max_length))
        check_chunking(chunking, stride, max_windows, window_pooling, pooling=pooling, max_length=max_length)
        dim = transformer.config.hidden_size
        dims = (B, T.Sym("T"), dim) if pooling == "none" else (B, dim)
        output = T.TensorType("float32", dims)
        spec = ModelSpec(source if "/" not in source else Path(source).name, input_type=T.TEXT,
                         output_type=output)
        super().__init__(spec, task="embedding")
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.source = source
        self.max_length = max_length
        self.normalize = normalize
        self.hidden_size = dim
        self.chunking, self.stride = chunking, stride
        self.max_windows, self.window_pooling = max_windows, window_pooling

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
        if self.chunking == "windows":
            if paired:
                raise MError('chunking="windows" reads single texts, not (question, context) pairs',
                             field="inputs")
            return self._windows(first)
        encoded = self.tokenizer(first, second if paired else None, padding="longest",
                                 truncation="only_second" if paired else True,
                                 max_length=self.max_length, return_tensors="pt",
                                 return_offsets_mapping=paired)
        # Pairs are for span extraction: the character offsets map answer tokens back to text.
        return {key: value for key, value in encoded.items()
                if key in ("input_ids", "attention_mask", "token_type_ids", "offset_mapping")}

    def _windows(self, texts: list[str]) -> dict:
        """Each text's first `max_windows` windows: tensors [B, windows, tokens], padding windows
        (a text with fewer windows than the batch's longest) all zeros."""
        import torch

        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length, stride=self.stride,
                                 return_overflowing_tokens=True, padding="longest", return_tensors="pt")
        owner = encoded["overflow_to_sample_mapping"].tolist()
        rows: list[list[int]] = [[] for _ in texts]
        for row, text in enumerate(owner):
            if len(rows[text]) < self.max_windows:
                rows[text].append(row)
        windows = max(len(r) for r in rows)
        out = {}
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key not in encoded:
                continue
            flat = encoded[key]
            filler = self.tokenizer.pad_token_id if key == "input_ids" else 0
            batch = flat.new_full((len(texts), windows, flat.shape[1]), filler or 0)
            for text, chosen in enumerate(rows):
                batch[text, :len(chosen)] = flat[chosen]
            out[key] = batch
        return out

    def example_inputs(self, batch_size: int = 2) -> dict:
        sentence = "M makes a pretrained model a value."
        if self.chunking == "windows":
            # Texts of several windows and of one: exports see both and padding windows.
            long = " ".join([sentence] * (self.max_length * self.max_windows // 4))
            return self.preprocess([long if i % 2 == 0 else sentence for i in range(batch_size)])
        return self.preprocess([sentence] * batch_size)

    # ----- computation -------------------------------------------------------------------------
    def compute(self, input_ids, attention_mask=None, token_type_ids=None, **_unused) -> torch.Tensor:
        """Pooled states; `_unused` absorbs what preprocess adds for others (offset_mapping)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        windowed = input_ids.dim() == 3  # [B, windows, tokens]: chunking="windows"
        if windowed:
            texts, windows = input_ids.shape[:2]
            input_ids, attention_mask = input_ids.flatten(0, 1), attention_mask.flatten(0, 1)
            token_type_ids = None if token_type_ids is None else token_type_ids.flatten(0, 1)
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        if not windowed:
            pooled = self._pooled(kwargs)
        else:
            # A window is there when any of its tokens is; pool over each text's windows.
            present = attention_mask.amax(dim=1)
            if _tracing() or bool(present.all()):
                pooled = self._pooled(kwargs)
            else:  # padding windows (texts shorter than the batch's longest) are not encoded
                rows = present.nonzero().squeeze(1)
                encoded = self._pooled({key: value[rows] for key, value in kwargs.items()})
                pooled = encoded.new_zeros((len(present), encoded.shape[-1])).index_copy(0, rows, encoded)
            pooled = pool(pooled.reshape(texts, windows, -1), present.reshape(texts, windows),
                          self.window_pooling)
        return torch.nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def _pooled(self, kwargs: dict) -> torch.Tensor:
        if torch.jit.is_tracing() and self.pooling != "none" and packable(self.transformer):
            states = packed_states(self.transformer, **kwargs)  # an exported graph skips padding
        else:
            states = self.transformer(**kwargs).last_hidden_state
        return pool(states, kwargs["attention_mask"], self.pooling)

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
                "normalize": self.normalize, **self.chunking_settings(),
                "transformer": self.transformer.config.to_dict()}

    def chunking_settings(self) -> dict:
        """The chunking fields by name (saved in the config; an export's sidecar states them)."""
        return {name: getattr(self, name) for name in CHUNKING_FIELDS}

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
        chunking = {key: config[key] for key in CHUNKING_FIELDS if key in config}
        return cls(transformer, tokenizer, source=config["source"], pooling=config["pooling"],
                   max_length=config["max_length"], normalize=config.get("normalize", False), **chunking)

    @classmethod
    def from_directory(cls, directory: str, *, source: str, pooling: str = "mean",
                       max_length: int = 256, normalize: bool = False, **chunking) -> "TextEncoderModel":
        """Load weights and tokenizer from a local Hugging Face directory (never the hub);
        `chunking` holds the chunking fields (`chunking`, `stride`, `max_windows`, `window_pooling`)."""
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
                   normalize=normalize, **chunking)


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


# The architectures `packed_states` reproduces (post-LayerNorm BERT layers: embeddings, then
# self-attention and a feed-forward block per layer), checked against each on tiny configs in the tests.
PACKABLE_TYPES = ("bert", "roberta", "xlm-roberta", "camembert")


def packable(transformer) -> bool:
    """An encoder of `PACKABLE_TYPES` configured as one (absolute positions, no decoder or
    cross-attention): one whose layers `packed_states` can run."""
    config = transformer.config
    return (getattr(config, "model_type", None) in PACKABLE_TYPES
            and not getattr(config, "is_decoder", False) and not getattr(config, "add_cross_attention", False)
            and getattr(config, "position_embedding_type", "absolute") == "absolute")


def packed_states(transformer, input_ids, attention_mask, token_type_ids=None, **_unused) -> torch.Tensor:
    """`transformer(...).last_hidden_state` at the real tokens, zeros at the padding, computed
    with every token-wise part (the projections, feed-forward, layer norms: ~3/4 of a BERT
    layer's time) on the real tokens of the batch only, packed into one [tokens, features]
    matrix; the attention's scores alone see the padded [batch, sequence] layout, masked as the
    transformer masks them.  What an ONNX export of a `packable` encoder runs: on a server's
    batch of whole reviews (62 % real tokens) the int8 graph is 1.4-1.5x faster (docs/engine.md)."""
    hidden = transformer.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
    batch, length, size = hidden.shape
    flat = attention_mask.reshape(-1)
    rows = flat.nonzero().squeeze(1)  # the real tokens of the flattened batch
    states = hidden.reshape(-1, size).index_select(0, rows)
    # each position's row in [states; zeros]: its packed token, or the zero row after them (a
    # gather: index_copy into zeros exports as ScatterElements, several times slower in ORT)
    source = torch.where(flat.bool(), flat.cumsum(0) - 1, rows.shape[0])

    def padded(packed, *shape):
        rows_and_zero = torch.cat([packed, packed.new_zeros(1, packed.shape[1])])
        return rows_and_zero.index_select(0, source).view(batch, length, *shape)

    mask = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    for layer in transformer.encoder.layer:
        attention = layer.attention.self
        heads, head_size = attention.num_attention_heads, attention.attention_head_size
        query, key, value = (padded(project(states), heads, head_size).transpose(1, 2)
                             for project in (attention.query, attention.key, attention.value))
        scaling = getattr(attention, "scaling", head_size ** -0.5)
        weights = torch.softmax(torch.matmul(query, key.transpose(2, 3)) * scaling + mask, dim=-1)
        context = torch.matmul(weights, value).transpose(1, 2).reshape(batch * length, heads * head_size)
        attended = layer.attention.output(context.index_select(0, rows), states)
        states = layer.output(layer.intermediate(attended), attended)
    return padded(states, size)


def _tracing() -> bool:
    """Exporting (traced or by dynamo): the graph keeps one shape, padding windows included."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def _text_and_pair(item, index: int) -> tuple[str, str | None]:
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and "question" in item and "context" in item:
        item = (item["question"], item["context"])
    if isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(s, str) for s in item):
        return item[0], item[1]
    raise MError(f"input {index} is a {type(item).__name__}, not a text or a (question, context) pair",
                 field="inputs", hint="text models take strings")
