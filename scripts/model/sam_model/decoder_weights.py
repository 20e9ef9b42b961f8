"""The C++ decoder's weights file (`decoder.samw`): SAM's prompt encoder + mask
decoder weights under their official state-dict names, with the dimensions.

    write_decoder_weights("decoder.samw", sam.state_dict(), num_heads=8)   # f32 (f16 with dtype="f16")
    config, tensors = read_decoder_weights("decoder.samw")               # for tests and checks

Two families. SAM (version 1): prompt_encoder.* and mask_decoder.*. SAM 2.1
(version 2; src/core/sam2_decoder.h): sam_prompt_encoder.* and sam_mask_decoder.*
as SAM2Base names them (the token MLP is mlp.layers.0/1, the object-score token
sits before the IoU token), without conv_s0/conv_s1 (applied by the encoder
export) and pred_obj_score_head (the image predictor does not use it). A state
dict's family is told by its keys (sam_mask_decoder.* is SAM 2.1).

Layout (all little-endian; the C++ reader is src/core/decoder_weights.cpp):
  0   "SAMW", u32 version (1 SAM, 2 SAM 2.1), u64 file size, u32 header size (bytes before the data)
  20  u32 config count (16 in version 1, 17 in version 2), u32 config values in
      CONFIG_FIELDS order, then (version 2 only) u32 family = 1
      u32 tensor count; per tensor: u16 name length, name (ASCII), u8 dtype (0 f32, 1 f16),
      u8 ndim, u32 dims[ndim], u64 offset (from the file start, a multiple of 64), u64 bytes
  ... tensor data, each block 64-aligned, C order
  end u32 CRC-32 (zlib's) of every byte before it
Every dimension is read from the state dict's shapes except num_heads (not stored
in a state dict; 8 in SAM, MobileSAM and our models) and the image embedding / input
sizes (64 x 64, 1024: fixed by SAM's prompt encoder).
"""
import re
import struct
import zlib
from collections import OrderedDict
from typing import Dict, Mapping, Tuple

import numpy as np
import torch

MAGIC = b"SAMW"
VERSION = 1
ALIGN = 64
DTYPES = {"f32": 0, "f16": 1}
CONFIG_FIELDS = (
    "embed_dim",             # transformer_dim = prompt embed_dim (256)
    "image_embedding_h",     # 64
    "image_embedding_w",     # 64
    "input_image_size",      # 1024: point coordinates are divided by it
    "mask_in_chans",         # 16
    "num_multimask_outputs",  # 3
    "depth",                 # two-way transformer blocks (2)
    "num_heads",             # 8
    "mlp_dim",               # 2048
    "mlp_activation",        # 0 ReLU (SAM's TwoWayTransformer), 1 GELU
    "self_attention_dim",    # internal width of the token self-attention (256)
    "cross_attention_dim",   # internal width of the token<->image attentions (128)
    "iou_head_depth",        # 3
    "iou_head_hidden_dim",   # 256
    "hypernet_hidden_dim",   # 256
    "hypernet_depth",        # 3
)
FAMILY_SAM, FAMILY_SAM2_1 = 0, 1
VERSION_SAM2 = 2
# Parts of a SAM 2.1 mask decoder the C++ decoder does not take.
SAM2_LEFT_OUT = ("sam_mask_decoder.conv_s0.", "sam_mask_decoder.conv_s1.", "sam_mask_decoder.pred_obj_score_head.")


class DecoderWeightsError(ValueError):
    pass


def _count(sd: Mapping[str, torch.Tensor], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd for m in [rx.fullmatch(k)] if m})


def state_family(sd: Mapping[str, torch.Tensor]) -> int:
    """FAMILY_SAM2_1 when the state dict has sam_mask_decoder.* keys, else FAMILY_SAM."""
    return FAMILY_SAM2_1 if any(k.startswith("sam_mask_decoder.") for k in sd) else FAMILY_SAM


def _prefixes(family: int) -> Tuple[str, str]:
    return ("sam_prompt_encoder.", "sam_mask_decoder.") if family == FAMILY_SAM2_1 else ("prompt_encoder.",
                                                                                          "mask_decoder.")


def decoder_state(sd: Mapping[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
    """The prompt_encoder.* and mask_decoder.* entries (SAM 2.1: sam_prompt_encoder.*
    and sam_mask_decoder.* less SAM2_LEFT_OUT), in the state dict's order."""
    family = state_family(sd)
    keep = _prefixes(family)
    return OrderedDict((k, v) for k, v in sd.items()
                       if k.startswith(keep) and not (family == FAMILY_SAM2_1 and k.startswith(SAM2_LEFT_OUT)))


def config_from_state_dict(sd: Mapping[str, torch.Tensor], num_heads: int = 8, image_embedding_size=(64, 64),
                           input_image_size: int = 1024, mlp_activation: int = 0) -> Dict[str, int]:
    """Every dimension the decoder needs, from the shapes of a (decoder part of a) SAM state dict."""
    def shape(k):
        if k not in sd:
            raise DecoderWeightsError(f"state dict has no {k}: not a SAM prompt encoder + mask decoder")
        return tuple(sd[k].shape)

    family = state_family(sd)
    pe, md = _prefixes(family)
    rx = re.escape(md)
    cfg = {
        "embed_dim": shape(md + "iou_token.weight")[1],
        "image_embedding_h": image_embedding_size[0],
        "image_embedding_w": image_embedding_size[1],
        "input_image_size": input_image_size,
        "mask_in_chans": shape(pe + "mask_downscaling.3.weight")[0],
        "num_multimask_outputs": shape(md + "mask_tokens.weight")[0] - 1,
        "depth": _count(sd, rx + r"transformer\.layers\.(\d+)\.norm1\.weight"),
        "num_heads": num_heads,
        "mlp_dim": shape(md + "transformer.layers.0." + ("mlp.layers.0" if family else "mlp.lin1") + ".weight")[0],
        "mlp_activation": mlp_activation,
        "self_attention_dim": shape(md + "transformer.layers.0.self_attn.q_proj.weight")[0],
        "cross_attention_dim": shape(md + "transformer.final_attn_token_to_image.q_proj.weight")[0],
        "iou_head_depth": _count(sd, rx + r"iou_prediction_head\.layers\.(\d+)\.weight"),
        "iou_head_hidden_dim": shape(md + "iou_prediction_head.layers.0.weight")[0],
        "hypernet_hidden_dim": shape(md + "output_hypernetworks_mlps.0.layers.0.weight")[0],
        "hypernet_depth": _count(sd, rx + r"output_hypernetworks_mlps\.0\.layers\.(\d+)\.weight"),
    }
    if family == FAMILY_SAM2_1:
        shape(md + "obj_score_token.weight")
        cfg["family"] = FAMILY_SAM2_1
    return cfg


def config_from_sam2(sam2) -> Dict[str, int]:
    """config_from_state_dict for a built Sam2 (our port or the official SAM2Base)."""
    pe = sam2.sam_prompt_encoder
    layer0 = sam2.sam_mask_decoder.transformer.layers[0]
    return config_from_state_dict(sam2.state_dict(), num_heads=layer0.self_attn.num_heads,
                                  image_embedding_size=tuple(pe.image_embedding_size),
                                  input_image_size=int(pe.input_image_size[0]), mlp_activation=0)


def config_from_sam(sam) -> Dict[str, int]:
    """config_from_state_dict with num_heads and sizes taken from a built Sam module."""
    pe = sam.prompt_encoder
    layer0 = sam.mask_decoder.transformer.layers[0]
    act = 1 if isinstance(layer0.mlp.act, torch.nn.GELU) else 0
    return config_from_state_dict(sam.state_dict(), num_heads=layer0.self_attn.num_heads,
                                  image_embedding_size=tuple(pe.image_embedding_size),
                                  input_image_size=int(pe.input_image_size[0]), mlp_activation=act)


def write_decoder_weights(path: str, sd: Mapping[str, torch.Tensor], config: Dict[str, int] = None,
                          dtype: str = "f32", num_heads: int = 8) -> Dict[str, int]:
    """Writes the decoder part of sd (image_encoder.* is left out). Returns the config."""
    if dtype not in DTYPES:
        raise DecoderWeightsError(f"dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    tensors = decoder_state(sd)
    if config is None:
        config = config_from_state_dict(tensors, num_heads=num_heads)
    np_dtype = np.float32 if dtype == "f32" else np.float16
    arrays = []
    for name, t in tensors.items():
        a = t.detach().cpu().float().numpy().astype(np_dtype)
        if not np.all(np.isfinite(a)):
            raise DecoderWeightsError(f"{name} has non-finite values in {dtype}")
        arrays.append((name, np.ascontiguousarray(a)))

    family = int(config.get("family", FAMILY_SAM))
    if family != state_family(sd):
        raise DecoderWeightsError(f"config family {family} does not match the state dict's ({state_family(sd)})")
    values = [int(config[k]) for k in CONFIG_FIELDS] + ([family] if family == FAMILY_SAM2_1 else [])
    version = VERSION_SAM2 if family == FAMILY_SAM2_1 else VERSION
    table = bytearray()
    table += struct.pack("<I", len(values))
    table += struct.pack(f"<{len(values)}I", *values)
    table += struct.pack("<I", len(arrays))
    entry_sizes = [2 + len(n.encode("ascii")) + 2 + 4 * a.ndim + 16 for n, a in arrays]
    header_size = 20 + len(table) + sum(entry_sizes)
    offset = -(-header_size // ALIGN) * ALIGN
    blobs = []
    for name, a in arrays:
        raw = a.tobytes()
        table += struct.pack("<H", len(name)) + name.encode("ascii")
        table += struct.pack("<BB", DTYPES[dtype], a.ndim) + struct.pack(f"<{a.ndim}I", *a.shape)
        table += struct.pack("<QQ", offset, len(raw))
        blobs.append((offset, raw))
        offset = -(-(offset + len(raw)) // ALIGN) * ALIGN
    end = blobs[-1][0] + len(blobs[-1][1]) if blobs else header_size
    file_size = end + 4
    out = bytearray(MAGIC + struct.pack("<IQI", version, file_size, header_size) + table)
    assert len(out) == header_size
    for off, raw in blobs:
        out += b"\0" * (off - len(out)) + raw
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(out)
    return config


def read_decoder_weights(path: str) -> Tuple[Dict[str, int], "OrderedDict[str, np.ndarray]"]:
    """(config, name -> float32 array); raises DecoderWeightsError on a bad file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 28 or data[:4] != MAGIC:
        raise DecoderWeightsError(f"{path}: not a decoder weights file (no SAMW magic)")
    version, file_size, header_size = struct.unpack_from("<IQI", data, 4)
    if version not in (VERSION, VERSION_SAM2) or file_size != len(data):
        raise DecoderWeightsError(f"{path}: version {version}, size {file_size} (file has {len(data)} bytes)")
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != struct.unpack_from("<I", data, len(data) - 4)[0]:
        raise DecoderWeightsError(f"{path}: checksum mismatch")
    pos = 20
    (n_cfg,) = struct.unpack_from("<I", data, pos)
    values = struct.unpack_from(f"<{n_cfg}I", data, pos + 4)
    config = dict(zip(CONFIG_FIELDS + ("family",), values))  # "family" only in version 2
    pos += 4 + 4 * n_cfg
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    tensors: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for _ in range(count):
        (n,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2:pos + 2 + n].decode("ascii")
        pos += 2 + n
        dt, ndim = struct.unpack_from("<BB", data, pos)
        dims = struct.unpack_from(f"<{ndim}I", data, pos + 2)
        offset, nbytes = struct.unpack_from("<QQ", data, pos + 2 + 4 * ndim)
        pos += 2 + 4 * ndim + 16
        a = np.frombuffer(data, np.float32 if dt == 0 else np.float16, int(np.prod(dims)), offset)
        tensors[name] = a.reshape(dims).astype(np.float32)
    return config, tensors


def sam_from_config(config: Dict[str, int]):
    """A decoder-only Sam (no image encoder) with exactly these dimensions, for
    checking that a state dict is a complete decoder and running it in PyTorch."""
    from .build import EncoderPlaceholder
    from .mask_decoder import MaskDecoder, TwoWayTransformer
    from .prompt_encoder import PromptEncoder
    from .sam import Sam

    c = config
    d = c["embed_dim"]
    for k in ("self_attention_dim", "cross_attention_dim"):
        if c[k] <= 0 or d % c[k]:
            raise DecoderWeightsError(f"{k} {c[k]} does not divide embed_dim {d}")
    if c["hypernet_depth"] != 3:
        raise DecoderWeightsError(f"hypernet_depth {c['hypernet_depth']}: SAM's hypernetwork MLPs have 3 layers")
    act = torch.nn.GELU if c["mlp_activation"] == 1 else torch.nn.ReLU
    pe = PromptEncoder(embed_dim=d, image_embedding_size=(c["image_embedding_h"], c["image_embedding_w"]),
                       input_image_size=(c["input_image_size"], c["input_image_size"]), mask_in_chans=c["mask_in_chans"])
    transformer = TwoWayTransformer(depth=c["depth"], embedding_dim=d, num_heads=c["num_heads"], mlp_dim=c["mlp_dim"],
                                    activation=act, attention_downsample_rate=d // c["cross_attention_dim"],
                                    self_attn_downsample_rate=d // c["self_attention_dim"])
    md = MaskDecoder(transformer_dim=d, transformer=transformer, num_multimask_outputs=c["num_multimask_outputs"],
                     iou_head_depth=c["iou_head_depth"], iou_head_hidden_dim=c["iou_head_hidden_dim"],
                     hypernet_hidden_dim=c["hypernet_hidden_dim"])
    return Sam(EncoderPlaceholder(c["input_image_size"]), pe, md).eval()


def check_written(path: str, sd: Mapping[str, torch.Tensor], dtype: str) -> int:
    """Reads the file back and compares every tensor with sd (exactly, after the
    f16 rounding when dtype is f16). Returns the number of values."""
    _, got = read_decoder_weights(path)
    want = decoder_state(sd)
    if list(got) != list(want):
        raise DecoderWeightsError(f"{path}: tensor names differ from the state dict")
    n = 0
    for k, v in want.items():
        w = v.detach().cpu().float().numpy()
        if dtype == "f16":
            w = w.astype(np.float16).astype(np.float32)
        if got[k].shape != w.shape or not np.array_equal(got[k], w):
            raise DecoderWeightsError(f"{path}: {k} does not read back as written")
        n += w.size
    return n
