"""Models with random weights (nothing is downloaded), each with example inputs.

Usable from the CLI: ``trt-passes compile benchmarks/zoo.py:bert --input 2x16:i64:0..1000``.

Sizes are kept small where the architecture allows (CPU time): vision models run at 64x64 or 96x96 images unless the
architecture fixes its input size, transformers are built from 2-layer configs with hidden size 128 (vit_b_16 and
swin_t keep torchvision's layer structure and weights shapes; only the image size shrinks where possible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


# ---- transformers (small configs, random weights) ------------------------------------------------------------------
def bert(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    """A BERT encoder (with pooler) with SDPA attention, from a config: random weights."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=2 * hidden, vocab_size=1000, attn_implementation="sdpa")
    torch.manual_seed(0)
    return BertModel(cfg).eval()


def roberta(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    from transformers import RobertaConfig, RobertaModel

    cfg = RobertaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=2 * hidden, vocab_size=1000, max_position_embeddings=64,
                        attn_implementation="sdpa")
    torch.manual_seed(0)
    return RobertaModel(cfg).eval()


def distilbert(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    from transformers import DistilBertConfig, DistilBertModel

    cfg = DistilBertConfig(dim=hidden, n_layers=layers, n_heads=heads, hidden_dim=2 * hidden, vocab_size=1000,
                           max_position_embeddings=64, attn_implementation="sdpa")
    torch.manual_seed(0)
    return DistilBertModel(cfg).eval()


def gpt2(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    from transformers import GPT2Config, GPT2Model

    cfg = GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads, vocab_size=1000, n_positions=64,
                     bos_token_id=0, eos_token_id=0, attn_implementation="sdpa", use_cache=False)
    torch.manual_seed(0)
    return GPT2Model(cfg).eval()


def llama(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    """A Llama-style decoder (RMS norm, rotary embeddings, SwiGLU, grouped-query attention) from a small config."""
    from transformers import LlamaConfig, LlamaModel

    cfg = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=2,
                      intermediate_size=2 * hidden, vocab_size=1000, max_position_embeddings=64,
                      attn_implementation="sdpa", use_cache=False)
    torch.manual_seed(0)
    return LlamaModel(cfg).eval()


def t5_encoder(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    from transformers import T5Config, T5EncoderModel

    cfg = T5Config(d_model=hidden, num_layers=layers, num_heads=heads, d_kv=hidden // heads, d_ff=2 * hidden,
                   vocab_size=1000, use_cache=False)
    torch.manual_seed(0)
    return T5EncoderModel(cfg).eval()


class _WhisperEncoder(torch.nn.Module):
    """The encoder of a Whisper model: log-mel features [B, n_mels, 2 * max_source_positions] -> hidden states."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import WhisperConfig, WhisperModel

        cfg = WhisperConfig(d_model=128, encoder_layers=2, decoder_layers=1, encoder_attention_heads=4,
                            decoder_attention_heads=4, encoder_ffn_dim=256, decoder_ffn_dim=256, num_mel_bins=16,
                            max_source_positions=32, vocab_size=1000, pad_token_id=0, bos_token_id=1,
                            eos_token_id=2, decoder_start_token_id=1, attn_implementation="sdpa")
        torch.manual_seed(0)
        self.encoder = WhisperModel(cfg).get_encoder()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.encoder(features).last_hidden_state


def whisper_encoder() -> torch.nn.Module:
    return _WhisperEncoder().eval()


def clip_vision(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    cfg = CLIPVisionConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                           intermediate_size=2 * hidden, image_size=64, patch_size=16, attn_implementation="sdpa")
    torch.manual_seed(0)
    return CLIPVisionModel(cfg).eval()


# ---- torchvision (weights=None) ------------------------------------------------------------------------------------
def _calibrated(model: torch.nn.Module, size: int | None) -> torch.nn.Module:
    """Set every batch norm's running statistics from one batch of random images (momentum 1 for that pass), then
    eval. With freshly initialised statistics (mean 0, var 1) deep random networks shrink their activations layer by
    layer (EfficientNet-B0's logits would be ~1e-14), which would make parity measure nothing."""
    if size is None:
        return model.eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model.eval()
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(3)))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return model.eval()


def _tv(name: str, calibrate: int | None = None, **kwargs: object) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import torchvision

        torch.manual_seed(0)
        return _calibrated(getattr(torchvision.models, name)(weights=None, **kwargs), calibrate)

    build.__name__ = name
    return build


def _tv_segmentation(name: str, calibrate: int | None = None) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import torchvision

        torch.manual_seed(0)
        model = getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, aux_loss=False)
        return _calibrated(_DictOut(model), calibrate)

    build.__name__ = name
    return build


class _DictOut(torch.nn.Module):
    """Segmentation models return {"out": tensor}; the zoo compares tensors."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


resnet18 = _tv("resnet18")
mobilenet_v2 = _tv("mobilenet_v2")


# ---- timm (pretrained=False) ---------------------------------------------------------------------------------------
def _timm(name: str, calibrate: int | None = None, **kwargs: object) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        try:
            import timm  # optional: the `bench` extra; imported here so the other models need none
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(f"{name} is a timm model: pip install -e '.[bench]'") from e

        torch.manual_seed(0)
        model = timm.create_model(name, pretrained=False, **kwargs)
        head = getattr(model, "head", None)
        if isinstance(head, torch.nn.Linear) and not head.weight.any():  # timm zero-initialises some heads
            torch.nn.init.normal_(head.weight, std=0.02)
        return _calibrated(model, calibrate)

    build.__name__ = name
    return build


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build: Callable[[], torch.nn.Module]
    inputs: Callable[[], tuple[torch.Tensor, ...]]


def _image(batch: int = 1, size: int = 224) -> Callable[[], tuple[torch.Tensor, ...]]:
    def make() -> tuple[torch.Tensor, ...]:
        return (torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1)),)

    return make


def _tokens(batch: int = 2, length: int = 16) -> Callable[[], tuple[torch.Tensor, ...]]:
    def make() -> tuple[torch.Tensor, ...]:
        return (torch.randint(0, 1000, (batch, length), generator=torch.Generator().manual_seed(1)),)

    return make


def _mel() -> tuple[torch.Tensor, ...]:
    return (torch.randn(1, 16, 64, generator=torch.Generator().manual_seed(1)),)


def _with_random_head(model: torch.nn.Module) -> torch.nn.Module:
    """torchvision zero-initialises ViT's classifier, so every logit would be 0 and parity meaningless: draw it."""
    torch.manual_seed(2)
    torch.nn.init.normal_(model.heads.head.weight, std=0.02)
    torch.nn.init.normal_(model.heads.head.bias, std=0.02)
    return model


def _vit_b_16() -> torch.nn.Module:
    """vit_b_16 (12 layers, width 768, patch 16) at 64x64 images (position embeddings for 16 patches)."""
    return _with_random_head(_tv("vit_b_16", image_size=64)())


def _vit_small() -> torch.nn.Module:
    """torchvision's VisionTransformer at vit_b_16's patch size, 2 layers of width 128 (tests)."""
    import torchvision

    torch.manual_seed(0)
    return _with_random_head(torchvision.models.VisionTransformer(
        image_size=64, patch_size=16, num_layers=2, num_heads=4, hidden_dim=128, mlp_dim=256).eval())


def _maxvit_t() -> torch.nn.Module:
    """maxvit_t at its own image size (its window and grid partitions need 224x224)."""
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.maxvit_t(weights=None).eval()


def _llama_tiny() -> torch.nn.Module:
    return llama(hidden=64, layers=2, heads=4)


def _gpt2_tiny() -> torch.nn.Module:
    return gpt2(hidden=64, layers=2, heads=2)


ZOO: dict[str, ZooEntry] = {
    "resnet18": ZooEntry("resnet18", resnet18, _image()),
    "mobilenet_v2": ZooEntry("mobilenet_v2", mobilenet_v2, _image()),
    "bert": ZooEntry("bert", bert, _tokens()),
    # torchvision
    "resnet50": ZooEntry("resnet50", _tv("resnet50", calibrate=64), _image(size=64)),
    "mobilenet_v3_large": ZooEntry("mobilenet_v3_large", _tv("mobilenet_v3_large", calibrate=64), _image(size=64)),
    "efficientnet_b0": ZooEntry("efficientnet_b0", _tv("efficientnet_b0", calibrate=64), _image(size=64)),
    "regnet_y_400mf": ZooEntry("regnet_y_400mf", _tv("regnet_y_400mf", calibrate=64), _image(size=64)),
    "convnext_tiny": ZooEntry("convnext_tiny", _tv("convnext_tiny", calibrate=64), _image(size=64)),
    "vit_b_16": ZooEntry("vit_b_16", _vit_b_16, _image(size=64)),
    "swin_t": ZooEntry("swin_t", _tv("swin_t", calibrate=64), _image(size=64)),
    "densenet121": ZooEntry("densenet121", _tv("densenet121", calibrate=64), _image(size=64)),
    "fcn_resnet50": ZooEntry("fcn_resnet50", _tv_segmentation("fcn_resnet50", calibrate=64), _image(size=64)),
    "deeplabv3_mobilenet": ZooEntry(
        "deeplabv3_mobilenet", _tv_segmentation("deeplabv3_mobilenet_v3_large", calibrate=64), _image(size=64)),
    # timm
    "mixer_s16": ZooEntry("mixer_s16", _timm("mixer_s16_224", img_size=64), _image(size=64)),
    "levit_128s": ZooEntry("levit_128s", _timm("levit_128s", calibrate=224), _image(size=224)),
    # transformers
    "roberta": ZooEntry("roberta", roberta, _tokens()),
    "distilbert": ZooEntry("distilbert", distilbert, _tokens()),
    # batch 1: torch 2.14's decomposition of GPT-2's SDPA path fails for batch > 1 (a view of a transposed tensor)
    "gpt2": ZooEntry("gpt2", gpt2, _tokens(batch=1)),
    "llama": ZooEntry("llama", llama, _tokens()),
    "t5_encoder": ZooEntry("t5_encoder", t5_encoder, _tokens()),
    "whisper_encoder": ZooEntry("whisper_encoder", whisper_encoder, _mel),
    "clip_vision": ZooEntry("clip_vision", clip_vision, _image(size=64)),
    # larger models measured by benchmarks/decompositions.py (not by model_zoo: compiling them takes minutes)
    "maxvit_t": ZooEntry("maxvit_t", _maxvit_t, _image()),
    # small variants for the tests
    "vit_small": ZooEntry("vit_small", _vit_small, _image(size=64)),
    "gpt2_tiny": ZooEntry("gpt2_tiny", _gpt2_tiny, _tokens(batch=1, length=8)),
    "llama_tiny": ZooEntry("llama_tiny", _llama_tiny, _tokens(batch=1, length=8)),
    "efficientnet_b0_64": ZooEntry("efficientnet_b0_64", _tv("efficientnet_b0", calibrate=64), _image(size=64)),
}

# The zoo the model_zoo benchmark measures (the small variants above exist for the tests).
MODELS: tuple[str, ...] = (
    "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny",
    "vit_b_16", "swin_t", "densenet121", "fcn_resnet50", "deeplabv3_mobilenet", "mixer_s16", "levit_128s", "bert",
    "roberta", "distilbert", "gpt2", "llama", "t5_encoder", "whisper_encoder", "clip_vision",
)
