"""Validate prediction requests against the model's M input type, with precise messages.

A request body is `{"inputs": [example, ...]}`.  What an example must be follows the model's
input type: a string for `Text`, a base64-encoded image (PNG, JPEG, ..., of any size: the model's
input transforms and `preprocess` prepare it) for `Image[...]`, and a nested list of finite
numbers of the declared shape (without the batch dim) for `Tensor[...]`.
Errors name the example or number (`inputs[3]`, `inputs[3][7]`) and say what was expected and
what came.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import re
from functools import reduce
from typing import Any

from mlang.lang import types as T


class RequestError(Exception):
    """A request the server rejects; `status` is the HTTP code, `field` the offending part."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": self.message, **({"field": self.field} if self.field else {})}


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_DIGITS_AS_1 = bytes(ord("1") if c in b"0123456789" else ord("0") for c in range(256))
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def parse_json(body: bytes, max_depth: int, max_digits: int) -> Any:
    """The body's JSON, refused before it is parsed when arrays and objects nest more than
    `max_depth` deep or a number has more than `max_digits` digits in a row."""
    import numpy as np

    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise RequestError(422, "the body is not UTF-8 text", field="body") from None
    # Strings may hold anything; the rest is scanned at C speed (no Python loop over 8 MiB).
    outside_strings = _JSON_STRING.sub(b'""', body)
    if outside_strings.translate(_DIGITS_AS_1).find(b"1" * (max_digits + 1)) >= 0:
        raise RequestError(422, f"a number has more than {max_digits} digits in a row", field="body")
    brackets = np.frombuffer(outside_strings.translate(None, _NOT_BRACKETS), np.uint8)
    opening = (brackets == ord("[")) | (brackets == ord("{"))
    if np.cumsum(opening.astype(np.int32) * 2 - 1, dtype=np.int32).max(initial=0) > max_depth:
        raise RequestError(422, f"arrays and objects nest more than {max_depth} deep", field="body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(422, f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}",
                           field="body") from None


def parse_inputs(payload: Any, input_type, max_inputs: int) -> list:
    """The request's examples, converted to what the model's `preprocess` takes."""
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise RequestError(422, 'the body must be a JSON object with an "inputs" list, '
                                'e.g. {"inputs": [...]}', field="inputs")
    inputs = payload["inputs"]
    if not isinstance(inputs, list) or not inputs:
        raise RequestError(422, f'"inputs" must be a non-empty list of examples, got {_kind(inputs)}',
                           field="inputs")
    if len(inputs) > max_inputs:
        raise RequestError(413, f'"inputs" has {len(inputs)} examples; at most {max_inputs} per request',
                           field="inputs")
    convert = _converter(input_type)
    return [convert(item, f"inputs[{i}]") for i, item in enumerate(inputs)]


def example_schema(input_type) -> dict:
    """The JSON schema of one example (shown in the OpenAPI docs at /docs)."""
    if isinstance(input_type, T.TextType):
        return {"type": "string", "example": "a short review: great food, slow service"}
    if isinstance(input_type, T.ImageType):
        return {"type": "string", "format": "base64", "description": f"a base64-encoded {input_type}"}
    if isinstance(input_type, T.TensorType) and input_type.dims is not None:
        schema: dict = {"type": "number"}
        for dim in reversed(input_type.dims[1:]):
            schema = {"type": "array", "items": schema,
                      **({"minItems": dim, "maxItems": dim} if isinstance(dim, int) else {})}
        return schema
    return {}


def warmup_example(input_type):
    """One example of the model's input type, as `parse_inputs` would hand it to the model (zeros,
    a blank image, a short text; a symbolic dim is 1) — or None when the type says too little."""
    import numpy as np

    if isinstance(input_type, T.TextType):
        return "warm-up"
    if isinstance(input_type, T.ImageType):
        side = lambda dim: dim if isinstance(dim, int) else 32  # noqa: E731 - the model's preprocess resizes
        shape = (side(input_type.height), side(input_type.width))
        return np.zeros(shape if input_type.channels == 1 else (*shape, 3), np.uint8)
    if isinstance(input_type, T.TensorType) and input_type.dims is not None:
        dtype = np.int64 if input_type.dtype.startswith(("int", "uint")) else np.float32
        return np.zeros([d if isinstance(d, int) else 1 for d in input_type.dims[1:]], dtype)
    return None


def _converter(input_type):
    if isinstance(input_type, T.TextType):
        return _text
    if isinstance(input_type, T.ImageType):
        return _image
    if isinstance(input_type, T.TensorType):
        return lambda item, where: _tensor(item, where, input_type)
    return lambda item, where: item


def _text(item, where: str) -> str:
    if not isinstance(item, str):
        raise RequestError(422, f"{where}: expected a string (the model's input type is Text), "
                                f"got {_kind(item)}", field=where)
    return item


GREY_MODES = ("1", "L", "LA")  # PIL modes decoded as one grey channel


def _image(item, where: str):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not isinstance(item, str):
        raise RequestError(422, f"{where}: expected a base64-encoded image string, got {_kind(item)}",
                           field=where)
    try:
        data = base64.b64decode(item.split(",", 1)[-1] if item.startswith("data:") else item,
                                validate=True)
        image = Image.open(io.BytesIO(data))
        image.load()
    except (binascii.Error, ValueError):
        raise RequestError(422, f"{where}: not valid base64", field=where) from None
    except (UnidentifiedImageError, OSError):
        raise RequestError(422, f"{where}: the decoded bytes are not an image (PNG, JPEG, ...)",
                           field=where) from None
    # The image as it came (grey stays grey): the model's input transforms and `preprocess` turn
    # it into what the network takes, exactly as `predict` does in-process.
    return np.asarray(image.convert("L" if image.mode in GREY_MODES else "RGB"))


def _tensor(item, where: str, tensor_type: T.TensorType):
    import numpy as np

    if not isinstance(item, (list, int, float)) or isinstance(item, bool):
        raise RequestError(422, f"{where}: expected a nested list of numbers, got {_kind(item)}",
                           field=where)
    _numbers_only(item, where)
    dtype = np.int64 if tensor_type.dtype.startswith(("int", "uint")) else np.float32
    try:
        with np.errstate(over="ignore"):  # a float beyond float32's range becomes inf, refused below
            array = np.asarray(item, dtype=dtype)
    except ValueError:
        raise RequestError(422, f"{where}: expected a rectangular nested list of numbers "
                                f"(ragged lists or non-numbers found)", field=where) from None
    except OverflowError:
        raise RequestError(422, f"{where}: a number beyond the range of {dtype.__name__}", field=where) from None
    infinite = np.argwhere(~np.isfinite(array))
    if len(infinite):
        at = where + "".join(f"[{i}]" for i in infinite[0])
        got = reduce(lambda value, i: value[i], infinite[0], item)
        raise RequestError(422, f"{at}: expected a finite number within float32's range, got "
                                f"{json.dumps(got)}", field=at)
    if tensor_type.dims is not None:
        expected = list(tensor_type.dims[1:])
        got = list(array.shape)
        fits = len(got) == len(expected) and all(
            not isinstance(e, int) or e == g for e, g in zip(expected, got))
        if not fits:
            shown = "[" + ", ".join(str(d) if isinstance(d, int) else str(d or "?") for d in expected) + "]"
            raise RequestError(422, f"{where}: expected shape {shown} (the model's input type is "
                                    f"{tensor_type}, one example per item), got shape {got}", field=where)
    return array


_NUMBER_TYPES = {int, float}


def _numbers_only(value, where: str) -> None:
    """Refuse the first thing in a nested list that is neither a list nor a number (a boolean, a
    string or null is not a number)."""
    if type(value) is list:
        if not _NUMBER_TYPES.issuperset(map(type, value)):  # a list of numbers is checked at C speed
            for i, item in enumerate(value):
                _numbers_only(item, f"{where}[{i}]")
    elif type(value) not in _NUMBER_TYPES:
        raise RequestError(422, f"{where}: expected a number, got {_kind(value)}", field=where)


def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
