"""Serializers: how a :class:`~tideflow.engine.results.Result` turns a value into bytes and back.

- :class:`PickleSerializer` (the default): any Python value, with cloudpickle, so functions,
  lambdas and classes defined in a notebook or ``__main__`` round-trip too;
- :class:`JSONSerializer`: JSON text (UTF-8), for values other programs must read.

A serializer is a small object with ``serialize(value) -> bytes`` and
``deserialize(data) -> value``; subclass :class:`Serializer` for another format.

>>> JSONSerializer().deserialize(JSONSerializer().serialize({"rows": 3}))
{'rows': 3}
"""

from __future__ import annotations

import json
from typing import Any

import cloudpickle

__all__ = ["JSONSerializer", "PickleSerializer", "Serializer"]


class Serializer:
    """Turns values into bytes and back; subclasses define both directions."""

    def serialize(self, value: Any) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} must define serialize()")

    def deserialize(self, value: bytes) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define deserialize()")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PickleSerializer(Serializer):
    """Any Python value, pickled with cloudpickle."""

    def serialize(self, value: Any) -> bytes:
        return cloudpickle.dumps(value)  # type: ignore[no-any-return]

    def deserialize(self, value: bytes) -> Any:
        return cloudpickle.loads(value)


class JSONSerializer(Serializer):
    """JSON text in UTF-8: dicts, lists, strings, numbers, booleans and None."""

    def serialize(self, value: Any) -> bytes:
        try:
            return json.dumps(value).encode()
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"JSONSerializer cannot write a {type(value).__name__} ({exc}); return a dict, "
                "list, string or number, or use PickleSerializer()"
            ) from None

    def deserialize(self, value: bytes) -> Any:
        return json.loads(value.decode())
