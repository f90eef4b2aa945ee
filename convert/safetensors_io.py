"""Read safetensors checkpoints into numpy without torch (single files and sharded ``*.index.json`` sets).

``safetensors.safe_open(framework="numpy")`` validates the header and the file size and reads every dtype numpy
knows; numpy has no bfloat16, so BF16 tensors are read here from the byte offsets in the header and widened to
float32 (hand-written: the safetensors package offers no numpy path for BF16).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from umi_edge.errors import UserError


def _bf16_to_f32(raw: bytes, shape: list[int]) -> np.ndarray:
    u16 = np.frombuffer(raw, dtype="<u2")
    return (u16.astype(np.uint32) << 16).view(np.float32).reshape(shape)


class SafetensorsFile:
    """One ``.safetensors`` file; tensors come back as numpy arrays (BF16 widened to float32)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: file not found")
        try:
            with safe_open(str(self.path), framework="numpy") as fh:
                self._keys = list(fh.keys())
                self.metadata = fh.metadata() or {}
        except (SafetensorError, OSError, ValueError) as exc:
            raise UserError(f"{self.path}: not a valid safetensors file ({exc})") from None
        with self.path.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            self._header = json.loads(fh.read(n))
            self._data_start = 8 + n

    def keys(self) -> list[str]:
        return list(self._keys)

    def dtype(self, key: str) -> str:
        return str(self._header[key]["dtype"])

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._header[key]["shape"])

    def get(self, key: str) -> np.ndarray:
        """The tensor ``key`` as a numpy array."""
        info = self._header.get(key)
        if info is None:
            raise UserError(f"{self.path}: no tensor named {key!r}")
        try:
            if info["dtype"] == "BF16":
                start, end = info["data_offsets"]
                with self.path.open("rb") as fh:
                    fh.seek(self._data_start + start)
                    raw = fh.read(end - start)
                if len(raw) != end - start:
                    raise UserError(f"{self.path}: tensor {key!r} is truncated")
                return _bf16_to_f32(raw, info["shape"])
            with safe_open(str(self.path), framework="numpy") as fh:
                return fh.get_tensor(key)
        except (SafetensorError, OSError, TypeError, ValueError) as exc:
            raise UserError(f"{self.path}: cannot read tensor {key!r} ({exc})") from None


class Checkpoint:
    """All tensors of a model directory: ``model.safetensors`` or a sharded set with its index."""

    def __init__(self, directory: Path, stem: str = "model") -> None:
        self.directory = Path(directory)
        single = self.directory / f"{stem}.safetensors"
        index = self.directory / f"{stem}.safetensors.index.json"
        self._where: dict[str, SafetensorsFile] = {}
        if single.is_file():
            f = SafetensorsFile(single)
            self._where = dict.fromkeys(f.keys(), f)
        elif index.is_file():
            try:
                weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise UserError(f"{index}: field 'weight_map': expected a tensor -> shard object ({exc})") from None
            shards: dict[str, SafetensorsFile] = {}
            for key, shard in weight_map.items():
                if shard not in shards:
                    shards[shard] = SafetensorsFile(self.directory / shard)
                if key not in shards[shard].keys():
                    raise UserError(f"{index}: tensor {key!r} is not in {shard}")
                self._where[key] = shards[shard]
        else:
            raise UserError(f"{self.directory}: no {stem}.safetensors (nor a sharded index) here")

    def keys(self) -> list[str]:
        return list(self._where)

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def shape(self, key: str) -> tuple[int, ...]:
        return self._where[key].shape(key)

    def get(self, key: str) -> np.ndarray:
        if key not in self._where:
            raise UserError(f"{self.directory}: no tensor named {key!r}")
        return self._where[key].get(key)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for key in self._where:
            yield key, self.get(key)
