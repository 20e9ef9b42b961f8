"""ONNX export of SAM encoders and decoders, each checked against PyTorch.

    scripts/model/export --model-type vit_b --checkpoint sam_vit_b_01ec64.pth --out models/vit_b

(SAM 2.1 model types, sam2.1_hiera_t/s/b+/l, export through sam2_export.py.) Writes, in --out:
  encoder.onnx        image f32[1,3,1024,1024] (normalised + padded) -> image_embeddings [1,256,64,64]
  decoder.onnx        fast decoder: the six official inputs -> iou_predictions [1,K],
                      low_res_masks [1,K,256,256] (K = 4, or 1 with --return-single-mask)
  decoder_full.onnx   the official interface, also the full-resolution `masks`
  decoder_batch.onnx  (--batch) image_embeddings, point_coords [B,1,2], point_labels [B,1] ->
                      iou_predictions [B,4], low_res_masks [B,4,256,256]
  decoder.samw        the C++ decoder's weights (sam_model/decoder_weights.py): official
                      state-dict names and the dimensions; f16 with --fp16
After each export onnxruntime runs it on seeded random inputs and the max
|diff| against PyTorch is printed; above tolerance the export fails.

    scripts/model/export --decoder-weights-only --checkpoint decoder_state_dict.pt --out DIR

writes only DIR/decoder.samw from any state dict holding prompt_encoder.* and
mask_decoder.* (dimensions read from its shapes; f16 when --fp16 or when the
state dict is float16); no model type needed. A SAM 2.1 checkpoint (sam_prompt_encoder.*,
sam_mask_decoder.*, e.g. {"model": state_dict} as released) gives SAM 2.1's decoder.samw.
"""
import argparse
from collections import OrderedDict
import os
import sys
import tempfile
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .build import MODEL_TYPES, CheckpointError, build_sam, build_sam_decoder_only, load_state_dict_strict, read_state_dict
from .build_sam2 import SAM2_MODEL_TYPES, is_sam2
from .decoder_weights import (FAMILY_SAM2_1, DecoderWeightsError, check_written, config_from_sam,
                              config_from_state_dict, decoder_state, sam_from_config, state_family,
                              write_decoder_weights)
from .onnx_decoder import (BATCH_INPUTS, DECODER_INPUTS, FAST_OUTPUTS, FULL_OUTPUTS, DecoderBatch, DecoderFast,
                           DecoderFull)
from .sam import Sam


class ExportError(RuntimeError):
    pass


def _to_onnx(module: torch.nn.Module, args: Sequence[torch.Tensor], input_names: List[str],
             output_names: List[str], dynamic_axes: Dict, opset: int) -> onnx.ModelProto:
    # Through a file, not a BytesIO: above protobuf's 2 GB (ViT-H) torch can only
    # write the weights as external data next to a file path. onnx.load reads them back.
    with tempfile.TemporaryDirectory(prefix="sam_export_") as tmp:
        path = os.path.join(tmp, "model.onnx")
        with warnings.catch_warnings():
            # The traced int() of orig_im_size and GELU-without-approximation warn; both are intended.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=UserWarning)
            torch.onnx.export(module, tuple(args), path, export_params=True, verbose=False, opset_version=opset,
                              do_constant_folding=True, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes)
        return onnx.load(path)


def _make_reproducible(model: onnx.ModelProto) -> None:
    """Drop everything that may differ between two runs of the same export."""
    model.doc_string = ""
    model.producer_name = "sam_model"
    model.producer_version = "1"
    for node in model.graph.node:
        node.doc_string = ""


def _keep_inputs(model: onnx.ModelProto, wanted: List[str], example: Dict[str, np.ndarray],
                 dynamic: Dict[str, Dict[int, str]]) -> None:
    """torch.onnx drops unused inputs; put them back (in order) so a variant that
    ignores orig_im_size still accepts the official feed."""
    have = {i.name: i for i in model.graph.input}
    if list(have) == wanted:
        return
    inputs = []
    for name in wanted:
        if name in have:
            inputs.append(have[name])
        else:
            dims = [dynamic.get(name, {}).get(k, d) for k, d in enumerate(example[name].shape)]
            inputs.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims))
    del model.graph.input[:]
    model.graph.input.extend(inputs)


def store_weights_fp16(model: onnx.ModelProto) -> int:
    """Store float32 initializers of >= 1024 values as float16 followed by a Cast to
    float32: the file halves, inputs/outputs and arithmetic stay float32. Returns
    the number of converted tensors."""
    converted = 0
    new_nodes = []
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < 1024:
            continue
        name = init.name
        half_name = name + "__fp16"
        init.CopyFrom(numpy_helper.from_array(arr.astype(np.float16), half_name))
        new_nodes.append(onnx.helper.make_node("Cast", [half_name], [name], to=onnx.TensorProto.FLOAT,
                                               name=name + "__cast"))
        converted += 1
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(new_nodes + nodes)
    # Inputs that were listed as graph inputs with initializers (old exporters) must go.
    init_names = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in {n.output[0] for n in new_nodes} or i.name in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return converted


def _save(model: onnx.ModelProto, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # From the shapes, not ByteSize(): protobuf's own size fields are 32-bit.
    weight_bytes = sum(int(np.prod(t.dims, dtype=np.int64)) * (2 if t.data_type == onnx.TensorProto.FLOAT16 else 4)
                       for t in model.graph.initializer)
    if weight_bytes < 1_800_000_000:
        onnx.save(model, path)
    else:  # ViT-H: protobuf cannot hold 2.5 GB; weights go next to the graph
        onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=os.path.basename(path) + ".data", size_threshold=1024)


def _verify(path: str, torch_outputs: Sequence[torch.Tensor], feeds: Dict[str, np.ndarray],
            output_names: List[str], rel_tol: float, log) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got_inputs = [i.name for i in sess.get_inputs()]
    if sorted(got_inputs) != sorted(feeds):
        raise ExportError(f"{path}: inputs {got_inputs}, expected {list(feeds)}")
    outs = sess.run(output_names, feeds)
    worst = 0.0
    for name, got, want in zip(output_names, outs, torch_outputs):
        want = want.detach().numpy()
        if got.shape != want.shape:
            raise ExportError(f"{path}: output {name} has shape {got.shape}, PyTorch gives {want.shape}")
        err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
        # Absolute tolerance scaled by the output's magnitude: trained weights give
        # logits of tens where random test weights give tenths.
        tol = rel_tol * max(1.0, float(np.max(np.abs(want))))
        log(f"  {os.path.basename(path)} {name:17s} {str(list(got.shape)):20s} max|onnx-torch| {err:.2e}  tol {tol:.1e}")
        if not err <= tol:
            raise ExportError(f"{path}: output {name} differs from PyTorch by {err:.3e} > {tol:.1e}")
        worst = max(worst, err)
    return worst


def _decoder_example(seed: int, num_points: int = 3, batch: Optional[int] = None) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if batch is not None:
        return {
            "image_embeddings": torch.randn(1, 256, 64, 64, generator=g),
            "point_coords": torch.randint(0, 1024, (batch, 1, 2), generator=g).float(),
            "point_labels": torch.ones(batch, 1),
        }
    labels = torch.tensor([[1.0, 0.0, 2.0, 3.0, -1.0][i % 5] for i in range(num_points)])[None]
    return {
        "image_embeddings": torch.randn(1, 256, 64, 64, generator=g),
        "point_coords": torch.randint(0, 1024, (1, num_points, 2), generator=g).float(),
        "point_labels": labels,
        "mask_input": torch.randn(1, 1, 256, 256, generator=g),
        "has_mask_input": torch.tensor([1.0]),
        "orig_im_size": torch.tensor([1500.0, 2250.0]),
    }


def export_checked(module: torch.nn.Module, path: str, example: Dict[str, torch.Tensor], inputs: List[str],
                   outputs: List[str], dynamic: Dict, checks: Sequence[Dict[str, torch.Tensor]], opset: int = 17,
                   fp16: bool = False, log=print, output_shapes: Optional[Dict[str, List]] = None) -> None:
    """Traces `module` (positional inputs named `inputs`) on `example`, writes it
    to path, then checks onnxruntime against PyTorch on `example` and each of
    `checks` (feeds by input name). output_shapes (name -> dims, ints or axis
    names) replaces the exporter's inferred output shapes, which name every axis
    it could not prove static."""
    module.eval()
    model = _to_onnx(module, [example[n] for n in inputs], inputs, outputs, dynamic, opset)
    for out in model.graph.output:
        if output_shapes and out.name in output_shapes:
            dims = out.type.tensor_type.shape.dim
            del dims[:]
            for d in output_shapes[out.name]:
                dims.add().CopyFrom(onnx.TensorShapeProto.Dimension(dim_value=d) if isinstance(d, int)
                                    else onnx.TensorShapeProto.Dimension(dim_param=d))
    _make_reproducible(model)
    if fp16:
        store_weights_fp16(model)
    _save(model, path)
    for ex in [example, *checks]:
        with torch.no_grad():
            want = module(*[ex[n] for n in inputs])
        want = list(want) if isinstance(want, (tuple, list)) else [want]
        _verify(path, want, {n: ex[n].numpy() for n in inputs}, outputs, 5e-3 if fp16 else 1e-4, log)


def export_encoder(sam: Sam, path: str, opset: int = 17, fp16: bool = False, log=print) -> None:
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(0))
    export_checked(sam.image_encoder, path, {"image": x}, ["image"], ["image_embeddings"], {}, [], opset, fp16, log)


def export_decoder(sam: Sam, path: str, variant: str = "fast", return_single_mask: bool = False, opset: int = 17,
                   fp16: bool = False, log=print) -> None:
    """variant: 'full' (official interface), 'fast' (no `masks`) or 'batch'."""
    if variant == "batch":
        module: torch.nn.Module = DecoderBatch(sam)
        example = _decoder_example(1, batch=4)
        inputs, outputs = BATCH_INPUTS, FAST_OUTPUTS
        dynamic = {"point_coords": {0: "batch"}, "point_labels": {0: "batch"},
                   "iou_predictions": {0: "batch"}, "low_res_masks": {0: "batch"}}
    else:
        cls = DecoderFull if variant == "full" else DecoderFast
        module = cls(sam, return_single_mask=return_single_mask)
        example = _decoder_example(1, num_points=5)
        inputs = DECODER_INPUTS
        outputs = FULL_OUTPUTS if variant == "full" else FAST_OUTPUTS
        dynamic = {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}
    module.eval()
    model = _to_onnx(module, [example[n] for n in inputs], inputs, outputs, dynamic, opset)
    _keep_inputs(model, inputs, {k: v.numpy() for k, v in example.items()}, dynamic)
    _make_reproducible(model)
    if fp16:
        store_weights_fp16(model)
    _save(model, path)
    rel = 5e-3 if fp16 else 1e-4
    # Check with other inputs and sizes than those traced: N, B and orig_im_size are dynamic.
    checks = [_decoder_example(2, batch=7)] if variant == "batch" else [_decoder_example(2, num_points=2),
                                                                         _decoder_example(3, num_points=4)]
    if variant != "batch":
        checks[0]["has_mask_input"] = torch.tensor([0.0])
        checks[1]["orig_im_size"] = torch.tensor([480.0, 333.0])
    for ex in checks:
        with torch.no_grad():
            want = module(*[ex[n] for n in inputs])
        _verify(path, want, {n: ex[n].numpy() for n in inputs}, outputs, rel, log)


DECODER_WEIGHTS_FILE = "decoder.samw"


def export_decoder_weights(sam: Sam, path: str, dtype: str = "f32", log=print) -> None:
    """decoder.samw for the C++ decoder, read back and compared with the module's tensors."""
    sd = sam.state_dict()
    config = write_decoder_weights(path, sd, config_from_sam(sam), dtype)
    n = check_written(path, sd, dtype)
    dims = ", ".join(f"{k} {v}" for k, v in config.items())
    log(f"  {os.path.basename(path)} {n:,} values ({dtype}), read back exactly; {dims}")


def export_decoder_weights_only(checkpoint: str, out: str, fp16: bool, num_heads: int, log=print) -> None:
    """decoder.samw straight from a state dict: its shapes give the dimensions; a
    PyTorch decoder of those dimensions must load it strictly (so nothing is missing)."""
    raw = read_state_dict(checkpoint)
    if state_family(raw) == FAMILY_SAM2_1:
        return _export_sam2_decoder_weights_only(raw, checkpoint, out, fp16, num_heads, log)
    sd = decoder_state(raw)
    if not sd:
        raise CheckpointError(f"{checkpoint}: no prompt_encoder.* or mask_decoder.* keys")
    try:
        config = config_from_state_dict(sd, num_heads=num_heads)
        sam = sam_from_config(config)
    except DecoderWeightsError as e:
        raise CheckpointError(f"{checkpoint}: {e}")
    load_state_dict_strict(torch.nn.ModuleDict({"prompt_encoder": sam.prompt_encoder, "mask_decoder": sam.mask_decoder}),
                           sd, source=checkpoint)
    half = fp16 or all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, DECODER_WEIGHTS_FILE)
    log(f"writing {path}")
    export_decoder_weights(sam, path, "f16" if half else "f32", log)


def _export_sam2_decoder_weights_only(raw, checkpoint: str, out: str, fp16: bool, num_heads: int, log=print) -> None:
    """SAM 2.1: a decoder-only module of the state dict's dimensions must load its
    sam_prompt_encoder.* and sam_mask_decoder.* strictly; its tensors are written."""
    from .mask_decoder import TwoWayTransformer
    from .prompt_encoder import PromptEncoder
    from .sam2_mask_decoder import Sam2MaskDecoder

    part = OrderedDict((k, v) for k, v in raw.items() if k.startswith(("sam_prompt_encoder.", "sam_mask_decoder.")))
    try:
        c = config_from_state_dict(decoder_state(part), num_heads=num_heads)
        obj_key = "sam_mask_decoder.pred_obj_score_head.layers.0.weight"
        if obj_key not in part:
            raise DecoderWeightsError(f"state dict has no {obj_key}: not a SAM 2.1 mask decoder")
        d = c["embed_dim"]
        if d != 256 or c["num_multimask_outputs"] != 3 or c["iou_head_depth"] != 3 or c["hypernet_depth"] != 3:
            raise DecoderWeightsError(f"dimensions {c} are not SAM 2.1's decoder (transformer_dim 256, 4 masks, 3-layer heads)")
        for k in ("self_attention_dim", "cross_attention_dim"):
            if d % c[k]:
                raise DecoderWeightsError(f"{k} {c[k]} does not divide embed_dim {d}")
    except DecoderWeightsError as e:
        raise CheckpointError(f"{checkpoint}: {e}")
    pe = PromptEncoder(embed_dim=d, image_embedding_size=(c["image_embedding_h"], c["image_embedding_w"]),
                       input_image_size=(c["input_image_size"], c["input_image_size"]), mask_in_chans=c["mask_in_chans"])
    transformer = TwoWayTransformer(depth=c["depth"], embedding_dim=d, num_heads=c["num_heads"], mlp_dim=c["mlp_dim"],
                                    attention_downsample_rate=d // c["cross_attention_dim"],
                                    self_attn_downsample_rate=d // c["self_attention_dim"], sam2_mlp=True)
    md = Sam2MaskDecoder(d, transformer, iou_head_hidden_dim=c["iou_head_hidden_dim"],
                         hypernet_hidden_dim=c["hypernet_hidden_dim"],
                         obj_score_hidden_dim=int(part[obj_key].shape[0]))
    module = torch.nn.ModuleDict({"sam_prompt_encoder": pe, "sam_mask_decoder": md})
    load_state_dict_strict(module, part, source=checkpoint)
    half = fp16 or all(v.dtype == torch.float16 for v in part.values() if v.is_floating_point())
    dtype = "f16" if half else "f32"
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, DECODER_WEIGHTS_FILE)
    log(f"writing {path}")
    sd = module.state_dict()
    config = write_decoder_weights(path, sd, c, dtype)
    n = check_written(path, sd, dtype)
    log(f"  {os.path.basename(path)} {n:,} values ({dtype}), read back exactly; "
        + ", ".join(f"{k} {v}" for k, v in config.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="export", description="Export SAM / MobileSAM to ONNX (see module doc).")
    ap.add_argument("--model-type", choices=MODEL_TYPES + SAM2_MODEL_TYPES, help="required except with --decoder-weights-only")
    ap.add_argument("--checkpoint", help="official .pth state dict (decoder-only with --decoder-only)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--return-single-mask", action="store_true", help="decoders output 1 mask (official selection rule)")
    ap.add_argument("--fp16", action="store_true", help="store weights as float16 (inputs/outputs stay float32)")
    ap.add_argument("--decoder-only", action="store_true", help="export only the decoders")
    ap.add_argument("--encoder-only", action="store_true", help="export only the encoder")
    ap.add_argument("--batch", action="store_true", help="also export decoder_batch.onnx")
    ap.add_argument("--random-weights", action="store_true",
                    help="no checkpoint: seeded random weights (for timing runs; the masks mean nothing)")
    ap.add_argument("--decoder-weights-only", action="store_true",
                    help="write only decoder.samw (the C++ decoder's weights) from --checkpoint")
    ap.add_argument("--num-heads", type=int, default=8, help="attention heads for --decoder-weights-only (SAM: 8)")
    args = ap.parse_args(argv)
    if args.decoder_weights_only:
        if not args.checkpoint or not os.path.isfile(args.checkpoint):
            ap.error("--decoder-weights-only needs an existing --checkpoint")
        try:
            export_decoder_weights_only(args.checkpoint, args.out, args.fp16, args.num_heads)
        except (CheckpointError, DecoderWeightsError) as e:
            print(f"export FAILED: {e}", file=sys.stderr)
            return 1
        print("done")
        return 0
    if args.model_type is None:
        ap.error("--model-type is required")
    if args.decoder_only and args.encoder_only:
        ap.error("--decoder-only and --encoder-only exclude each other")
    if args.checkpoint is None and not args.random_weights and args.model_type not in ("tiny-test", "sam2-tiny-test"):
        ap.error("--checkpoint is required (or --random-weights, for timing)")
    if args.checkpoint is not None and args.random_weights:
        ap.error("--checkpoint and --random-weights exclude each other")
    if args.checkpoint is not None and not os.path.isfile(args.checkpoint):
        ap.error(f"checkpoint {args.checkpoint} does not exist")
    if is_sam2(args.model_type):
        from .sam2_export import run

        return run(args)
    torch.manual_seed(0)
    try:
        if args.decoder_only:
            sam = build_sam_decoder_only(args.model_type, args.checkpoint)
        else:
            sam = build_sam(args.model_type, args.checkpoint)
    except CheckpointError as e:
        print(f"export FAILED: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    try:
        if not args.decoder_only:
            print(f"exporting {args.out}/encoder.onnx")
            export_encoder(sam, os.path.join(args.out, "encoder.onnx"), args.opset, args.fp16)
        if not args.encoder_only:
            for variant, name in (("fast", "decoder.onnx"), ("full", "decoder_full.onnx")):
                print(f"exporting {args.out}/{name}")
                export_decoder(sam, os.path.join(args.out, name), variant, args.return_single_mask, args.opset, args.fp16)
            if args.batch:
                print(f"exporting {args.out}/decoder_batch.onnx")
                export_decoder(sam, os.path.join(args.out, "decoder_batch.onnx"), "batch", False, args.opset, args.fp16)
            print(f"writing {args.out}/{DECODER_WEIGHTS_FILE}")
            export_decoder_weights(sam, os.path.join(args.out, DECODER_WEIGHTS_FILE), "f16" if args.fp16 else "f32")
    except (ExportError, DecoderWeightsError) as e:
        print(f"export FAILED: {e}", file=sys.stderr)
        return 1
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
