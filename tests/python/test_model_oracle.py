"""Live comparison with the official segment_anything package (test oracle only):
official modules built with fresh seeded random weights, their state dict copied
into ours, outputs compared on random inputs."""
import sys
import types
from functools import partial

import numpy as np
import pytest
import torch

import model_paths  # noqa: F401  (puts scripts/model on sys.path)

from sam_model import build_sam_decoder_only, load_state_dict_strict
from sam_model.onnx_decoder import DecoderBatch, DecoderFull
from sam_model.vit_encoder import ImageEncoderViT


def _import_official():
    # segment_anything imports torchvision at package level for resizing and NMS,
    # which we do not use here: where it is not installed, stub just those names
    # (Debian's python3-torchvision is, and the SAM 2 oracle needs the real one).
    try:
        import torchvision  # noqa: F401
    except ImportError:
        pass
    if "torchvision" not in sys.modules:
        stubs = {"torchvision": [], "torchvision.transforms": [], "torchvision.transforms.functional":
                 ["resize", "to_pil_image"], "torchvision.ops": [], "torchvision.ops.boxes": ["batched_nms", "box_area"]}
        for name, attrs in stubs.items():
            mod = types.ModuleType(name)
            for a in attrs:
                setattr(mod, a, None)
            sys.modules[name] = mod
    try:
        import segment_anything.modeling as modeling
        from segment_anything.utils.onnx import SamOnnxModel
    except Exception as e:  # pragma: no cover
        pytest.fail(f"the oracle segment_anything is not importable ({e}): scripts/bootstrap installs it", pytrace=False)
    return modeling, SamOnnxModel


def _perturb_constants(module, seed):
    """The reference's rule: all-equal float tensors get +0.2*N(0,1) (so swapped LN
    weight/bias, zero rel-pos tables etc. would show)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in module.state_dict().values():
            if t.is_floating_point() and t.numel() > 0 and bool((t == t.flatten()[0]).all()):
                t.add_(0.2 * torch.randn(t.shape, generator=g))


def _official_sam(modeling, seed):
    torch.manual_seed(seed)
    encoder = modeling.ImageEncoderViT(img_size=1024, patch_size=16, in_chans=3, embed_dim=32, depth=3, num_heads=2,
                                       mlp_ratio=4, out_chans=256, qkv_bias=True,
                                       norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=True,
                                       window_size=14, global_attn_indexes=(1,))
    prompt = modeling.PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                    mask_in_chans=16)
    decoder = modeling.MaskDecoder(num_multimask_outputs=3, transformer=modeling.TwoWayTransformer(
        depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8), transformer_dim=256, iou_head_depth=3,
        iou_head_hidden_dim=256)
    sam = modeling.Sam(encoder, prompt, decoder, pixel_mean=[123.675, 116.28, 103.53],
                       pixel_std=[58.395, 57.12, 57.375]).eval()
    _perturb_constants(sam, seed + 1)
    return sam


@pytest.fixture(scope="module")
def pair():
    modeling, SamOnnxModel = _import_official()
    official = _official_sam(modeling, 4321)
    ours = build_sam_decoder_only("vit_b")
    sd = official.state_dict()
    load_state_dict_strict(torch.nn.ModuleDict({"prompt_encoder": ours.prompt_encoder,
                                                "mask_decoder": ours.mask_decoder}),
                           {k: v for k, v in sd.items() if not k.startswith("image_encoder.")})
    encoder = ImageEncoderViT(img_size=1024, patch_size=16, embed_dim=32, depth=3, num_heads=2, mlp_ratio=4,
                              out_chans=256, norm_eps=1e-6, use_rel_pos=True, window_size=14,
                              global_attn_indexes=(1,))
    load_state_dict_strict(encoder, {k[len("image_encoder."):]: v for k, v in sd.items()
                                     if k.startswith("image_encoder.")})
    return official, SamOnnxModel, ours, encoder.eval()


def _max_diff(a, b):
    return float((a.double() - b.double()).abs().max())


def _inputs(seed, n, has_mask, size):
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor([[1.0, 0.0, 2.0, 3.0, -1.0, 1.0][:n]])
    return (torch.randn(1, 256, 64, 64, generator=g), torch.rand(1, n, 2, generator=g) * 1023,
            labels, torch.randn(1, 1, 256, 256, generator=g), torch.tensor([float(has_mask)]),
            torch.tensor([float(size[0]), float(size[1])]))


@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("n,has_mask,size", [(1, 0, (300, 450)), (2, 1, (1024, 1024)), (5, 0, (90, 900)),
                                             (6, 1, (1500, 1001))])
def test_decoder_wrapper_matches_official(pair, single, n, has_mask, size):
    official, SamOnnxModel, ours, _ = pair
    x = _inputs(n * 10 + has_mask, n, has_mask, size)
    want = SamOnnxModel(official, return_single_mask=single)(*x)
    got = DecoderFull(ours, return_single_mask=single)(*x)
    for name, w, o in zip(("masks", "iou_predictions", "low_res_masks"), want, got):
        assert w.shape == o.shape, name
        assert _max_diff(w, o) <= (3e-5 if name == "masks" else 2e-6), name


def test_predictor_path_with_boxes_matches_official(pair):
    """PromptEncoder.forward (boxes, padding point) + MaskDecoder.forward + postprocess_masks."""
    official, _, ours, _ = pair
    g = torch.Generator().manual_seed(7)
    emb = torch.randn(1, 256, 64, 64, generator=g)
    points = (torch.rand(1, 3, 2, generator=g) * 1000, torch.tensor([[1.0, 0.0, 1.0]]))
    box = torch.tensor([[100.0, 200.0, 640.0, 512.0]])
    mask = torch.randn(1, 1, 256, 256, generator=g)
    with torch.no_grad():
        for prompts in [(points, None, None), (None, box, None), (points, box, mask)]:
            s_w, d_w = official.prompt_encoder(*prompts)
            s_o, d_o = ours.prompt_encoder(*prompts)
            assert _max_diff(s_w, s_o) < 1e-5 and _max_diff(d_w, d_o) < 1e-6
            for multi in (True, False):
                m_w, i_w = official.mask_decoder(emb, official.prompt_encoder.get_dense_pe(), s_w, d_w, multi)
                m_o, i_o = ours.mask_decoder(emb, ours.prompt_encoder.get_dense_pe(), s_o, d_o, multi)
                assert _max_diff(m_w, m_o) < 2e-6 and _max_diff(i_w, i_o) < 2e-6
        up_w = official.postprocess_masks(m_w, (683, 1024), (1500, 2250))
        up_o = ours.postprocess_masks(m_o, (683, 1024), (1500, 2250))
        assert _max_diff(up_w, up_o) < 3e-5


def test_batch_decoder_matches_official_predict_torch(pair):
    """decoder_batch: one point per prompt + padding point, as the AMG feeds predict_torch."""
    official, _, ours, _ = pair
    g = torch.Generator().manual_seed(11)
    emb = torch.randn(1, 256, 64, 64, generator=g)
    coords = torch.rand(5, 1, 2, generator=g) * 1023
    labels = torch.ones(5, 1)
    with torch.no_grad():
        sparse, dense = official.prompt_encoder((coords, labels), None, None)
        m_w, i_w = official.mask_decoder.predict_masks(emb, official.prompt_encoder.get_dense_pe(), sparse, dense)
        i_o, m_o = DecoderBatch(ours)(emb, coords, labels)
    assert m_o.shape == (5, 4, 256, 256) and i_o.shape == (5, 4)
    assert _max_diff(m_w, m_o) < 2e-6 and _max_diff(i_w, i_o) < 2e-6


def test_reduced_vit_matches_official(pair):
    official, _, _, encoder = pair
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = official.image_encoder(x)
        got = encoder(x)
    assert want.shape == got.shape == (1, 256, 64, 64)
    assert _max_diff(want, got) < 2e-5


def test_preprocess_matches_official(pair):
    official, _, ours, _ = pair
    x = torch.from_numpy(np.random.default_rng(5).integers(0, 256, (1, 3, 683, 1024)).astype(np.float32))
    assert _max_diff(official.preprocess(x), ours.preprocess(x)) == 0.0
