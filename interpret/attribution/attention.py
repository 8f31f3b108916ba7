"""Transformer-native maps from a ViT's own attention: attention rollout and Chefer et al.'s gradient-weighted rollout.

Both read each block's attention weights A = softmax(q k^T * scale). Fused attention (torch's
scaled_dot_product_attention: timm's default, transformers' "sdpa") never materialises A, so it is recomputed here
from the block's queries and keys, captured with `interpret.capture.capture` under the model's lock on the shared
model itself (no module swapped, no flag changed). The gradient of the score with respect to A, which Chefer's rule
needs, is exact without A in the graph: the block's output is O = A V per head, and A is used nowhere else, so
d score / d A = (d score / d O) V^T. d score / d O comes from the gradient at the output projection's output:
out = O W^T + b, so d score / d O = (d score / d out) W. Tests compare both maps with the published formulas applied to
the attention weights of an unfused copy.

Supported encoders: timm VisionTransformer (ViT, DeiT, distilled DeiT, register tokens), transformers ViT / DeiT and
torchvision vit_*; each needs a class token whose row the head reads. Others are refused with the reason.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..capture import capture
from ..errors import LayerError
from ..layers import prefix_tokens, token_grid
from ..models import LoadedModel
from .base import AttributionMethod, Context, Param, register
from .requirements import AUTOGRAD, Requirement

Split = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
NOT_A_VIT = ("it reads the attention weights of a ViT or DeiT (timm, transformers or torchvision vit_*), and this "
             "model has no attention blocks it can read")


@dataclass(frozen=True)
class Block:
    """One attention block as this module reads it."""

    sources: tuple[str, ...]  # layers whose outputs give q, k, v
    split: Split  # captured sources -> q, k, v, each B x heads x N x d
    out: str  # the layer whose output is O W^T + b (O: the heads' outputs side by side, B x N x heads*d)
    out_weight: torch.Tensor  # W
    scale: float
    name: str  # the whole block, whose output is the token sequence the next block reads
    # captured sources -> v alone (B x heads x N x d) where that is cheaper than `split` (None: split's v)
    value: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None

    def values(self, captured: dict[str, torch.Tensor]) -> torch.Tensor:
        """The block's values V, per head (what LeGrad's gradient rule needs of the block)."""
        return self.value(captured) if self.value is not None else self.split(captured)[2]


@dataclass(frozen=True)
class Encoder:
    blocks: tuple[Block, ...]
    prefix: int  # class (and distillation, register) tokens before the patch tokens; the class token is first
    # tokens (B x N x D) -> logits (B x classes): the model's final norm and head applied to the tokens' mean, as
    # LeGrad reads an intermediate block's output (interpret.attribution.legrad)
    project: Callable[[torch.Tensor], torch.Tensor]


def split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """B x N x heads*d -> B x heads x N x d."""
    b, n, _ = t.shape
    return t.reshape(b, n, heads, -1).transpose(1, 2)


def _timm_block(name: str, attn: Any, block: str) -> Block | str:  # timm's Attention
    if getattr(attn, "gate", None) is not None or not isinstance(getattr(attn, "norm", nn.Identity()), nn.Identity):
        return "its attention blocks normalise or gate their output before the projection (the gradient rule here " \
               "reads the heads' outputs through the projection alone)"
    heads, own_q, own_k = int(attn.num_heads), not isinstance(attn.q_norm, nn.Identity), not isinstance(attn.k_norm, nn.Identity)
    sources = (f"{name}.qkv",) + ((f"{name}.q_norm",) if own_q else ()) + ((f"{name}.k_norm",) if own_k else ())

    def split(c: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        qkv = c[f"{name}.qkv"]
        b, n, _ = qkv.shape
        q, k, v = qkv.reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        return (c[f"{name}.q_norm"] if own_q else q), (c[f"{name}.k_norm"] if own_k else k), v

    return Block(sources, split, f"{name}.proj", attn.proj.weight, float(attn.scale), block)


def _timm(model: nn.Module) -> Encoder | str | None:
    from timm.models.vision_transformer import Attention, VisionTransformer  # Attention lives in timm.layers since 1.0

    vit = next((m for m in model.modules() if isinstance(m, VisionTransformer)), None)
    if vit is None:
        return None
    if vit.cls_token is None or vit.global_pool != "token":
        return (f"its head reads the tokens pooled ('{vit.global_pool or 'none'}') rather than a class token, and the "
                "map is the class token's row")
    names = {id(m): n for n, m in model.named_modules()}
    blocks = []
    for block in vit.blocks:
        attn = getattr(block, "attn", None)
        if not isinstance(attn, Attention):
            return f"its blocks use {type(attn).__name__} attention, not the standard multi-head attention it reads"
        made = _timm_block(names[id(attn)], attn, names[id(block)])
        if isinstance(made, str):
            return made
        blocks.append(made)

    def project(tokens: torch.Tensor) -> torch.Tensor:  # the head reads the class token (and a distillation token)
        return vit.forward_head(vit.norm(tokens.mean(1, keepdim=True)).expand_as(tokens))

    return Encoder(tuple(blocks), int(vit.num_prefix_tokens), project)


def _hf(model: nn.Module) -> Encoder | str | None:
    kinds = {cls.__name__ for cls in type(model).__mro__}
    if not kinds & {"ViTForImageClassification", "DeiTForImageClassification", "DeiTForImageClassificationWithTeacher"}:
        return None
    blocks = []
    for name, attn in model.named_modules():
        if type(attn).__name__ in ("ViTAttention", "DeiTAttention"):
            heads = int(attn.num_attention_heads)

            def split(c: dict[str, torch.Tensor], name: str = name, heads: int = heads):
                return tuple(split_heads(c[f"{name}.{p}_proj"], heads) for p in "qkv")

            blocks.append(Block(tuple(f"{name}.{p}_proj" for p in "qkv"), split, f"{name}.o_proj",
                                attn.o_proj.weight, float(attn.scaling), name.rpartition(".")[0]))
    if not blocks:
        return None
    return Encoder(tuple(blocks), prefix_tokens(model) or 1, _hf_project(model))


def _hf_project(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The final layer norm and the classifier(s) of a transformers ViT / DeiT (the teacher variant averages its two
    heads, as its forward does) applied to the tokens' mean."""
    base: Any = getattr(model, "vit", None) or model.deit
    norm: nn.Module = base.layernorm
    heads = [getattr(model, n) for n in ("classifier", "cls_classifier", "distillation_classifier")
             if isinstance(getattr(model, n, None), nn.Module)]

    def project(tokens: torch.Tensor) -> torch.Tensor:
        pooled = norm(tokens.mean(1))
        return sum(head(pooled) for head in heads) / len(heads)

    return project


def _torchvision(model: nn.Module) -> Encoder | str | None:
    from torchvision.models.vision_transformer import EncoderBlock, VisionTransformer

    vit = next((m for m in model.modules() if isinstance(m, VisionTransformer)), None)
    if vit is None:
        return None
    blocks = []
    for name, block in model.named_modules():
        if isinstance(block, EncoderBlock):
            mha = block.self_attention
            if mha.in_proj_weight is None or not mha.batch_first:
                return "its attention projects queries, keys and values separately (not torchvision's vit_* layout)"
            heads, weight, bias = mha.num_heads, mha.in_proj_weight, mha.in_proj_bias

            def split(c: dict[str, torch.Tensor], name: str = name, heads: int = heads, weight=weight, bias=bias):
                qkv = nn.functional.linear(c[f"{name}.ln_1"], weight, bias)
                return tuple(split_heads(t, heads) for t in qkv.chunk(3, dim=-1))

            def value(c: dict[str, torch.Tensor], name: str = name, heads: int = heads, weight=weight, bias=bias):
                third = weight.shape[0] // 3  # the values' rows of the joint projection
                v = nn.functional.linear(c[f"{name}.ln_1"], weight[2 * third:], None if bias is None else bias[2 * third:])
                return split_heads(v, heads)

            blocks.append(Block((f"{name}.ln_1",), split, f"{name}.self_attention",
                                mha.out_proj.weight, float(mha.head_dim) ** -0.5, name, value))

    def project(tokens: torch.Tensor) -> torch.Tensor:  # torchcam's projection for LeGrad on these models
        return vit.heads(vit.encoder.ln(tokens.mean(1)))

    return Encoder(tuple(blocks), 1, project) if blocks else NOT_A_VIT


def encoder_of(lm: LoadedModel) -> Encoder | str:
    """The model's attention blocks as this module reads them, or why it cannot."""
    if not lm.hookable or isinstance(lm.model, torch.jit.ScriptModule):
        return "a TorchScript model's attention blocks cannot be captured"
    for reader in (_timm, _hf, _torchvision):
        found = reader(lm.model)
        if found is not None:
            return found
    return NOT_A_VIT


def _attention_check(lm: LoadedModel) -> str | None:
    found = encoder_of(lm)
    return found if isinstance(found, str) else None


ATTENTION = Requirement("vit_attention", "a ViT or DeiT (timm, transformers, torchvision) with a class token",
                        _attention_check)


def encoder_for(ctx: Context) -> Encoder:
    """ctx's model's attention blocks, or a LayerError with the reason it has none this module reads."""
    found = encoder_of(ctx.lm)
    if isinstance(found, str):
        raise LayerError(f"This method cannot read this model: {found}.")
    return found


def check_calls(captured: dict, calls: dict[str, int], names: list[str]) -> None:
    """A LayerError unless every named layer ran exactly once in the captured pass."""
    for name in names:
        if name not in captured or calls.get(name) != 1:
            raise LayerError(f"The layer '{name}' did not run exactly once in the forward pass; its attention "
                             "cannot be read.")


def attention_weights(q: torch.Tensor, k: torch.Tensor, scale: float) -> torch.Tensor:
    """softmax(q k^T * scale) over the keys, in float32 (B x heads x N x N); the scale on q first, as timm does."""
    return ((q.float() * scale) @ k.float().transpose(-2, -1)).softmax(dim=-1)


def attentions(ctx: Context, encoder: Encoder) -> list[torch.Tensor]:
    """Each block's attention weights (heads x N x N) for ctx.x's first image: one inference pass that stops after
    the last block's queries and keys."""
    names = [s for b in encoder.blocks for s in b.sources]
    with ctx.lm.lock, torch.inference_mode(), capture(ctx.lm.model, names, keep="clone", stop=True) as captured:
        captured.run(ctx.x[:1])
    check_calls(captured, captured.calls, names)
    result = []
    for block in encoder.blocks:
        q, k, _ = block.split(captured)
        result.append(attention_weights(q, k, block.scale)[0])
    return result


def attentions_and_gradients(ctx: Context, encoder: Encoder) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Each block's attention weights A and d score / d A (heads x N x N each) for ctx.x's first image."""
    sources = [s for b in encoder.blocks for s in b.sources]
    outs = [b.out for b in encoder.blocks]
    x = ctx.x[:1].detach().requires_grad_(True)  # parameters are frozen: something must carry the graph
    with ctx.lm.lock, torch.enable_grad(), capture(ctx.lm.model, sources + outs, keep="graph") as captured:
        logits = captured.run(x)
    check_calls(captured, captured.calls, sources + outs)
    with torch.enable_grad():
        grads = torch.autograd.grad(ctx.score(logits).sum(), [captured[name] for name in outs])
    result = []
    with torch.no_grad():
        for block, grad_out in zip(encoder.blocks, grads, strict=True):
            q, k, v = (t.detach() for t in block.split(captured))
            heads = q.shape[1]
            grad_o = split_heads(grad_out.float() @ block.out_weight.float(), heads)  # d score / d O, per head
            grad_a = grad_o @ v.float().transpose(-2, -1)  # O = A V: d score / d A = (d score / d O) V^T
            result.append((attention_weights(q, k, block.scale)[0], grad_a[0]))
    return result


def fuse_heads(a: torch.Tensor, fusion: str) -> torch.Tensor:
    """heads x N x N -> N x N: the heads' mean, maximum or minimum."""
    if fusion == "max":
        return a.amax(0)
    if fusion == "min":
        return a.amin(0)
    return a.mean(0)


def discard_lowest(a: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero the lowest `ratio` of the fused attention's entries, the class token's attention to itself kept (as the
    authors' and vit-explain's code do)."""
    count = int(a.numel() * ratio)
    if count <= 0:
        return a
    flat = a.flatten().clone()
    lowest = flat.topk(count, largest=False).indices
    flat[lowest[lowest != 0]] = 0
    return flat.view_as(a)


def rollout(weights: list[torch.Tensor], fusion: str = "mean", discard: float = 0.0) -> torch.Tensor:
    """Abnar & Zuidema 2020: R = prod over layers of rownorm(fuse(A) + I), the first layer rightmost (N x N)."""
    n = weights[0].shape[-1]
    eye = torch.eye(n, device=weights[0].device)
    result = eye
    for a in weights:
        fused = discard_lowest(fuse_heads(a, fusion), discard) + eye
        result = (fused / fused.sum(-1, keepdim=True)) @ result
    return result


def chefer_relevance(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Chefer et al. 2021: R = I; for each layer R = R + mean_h(relu(dA * A)) @ R (N x N)."""
    n = pairs[0][0].shape[-1]
    result = torch.eye(n, device=pairs[0][0].device)
    for a, grad in pairs:
        result = result + (grad * a).clamp_min(0).mean(0) @ result
    return result


def class_row_map(ctx: Context, relevance: torch.Tensor, prefix: int) -> torch.Tensor:
    """The class token's row over the patch tokens, as the patch grid (h x w)."""
    row = relevance[0, prefix:]
    size = (int(ctx.x.shape[-2]), int(ctx.x.shape[-1]))
    grid = token_grid(int(row.numel()), size)
    if grid is None:
        raise LayerError(f"The model's {row.numel()} patch tokens do not form a grid for a {size[0]} x {size[1]} input.")
    return row.reshape(grid)


@register
class AttentionRollout(AttributionMethod):
    name = "attention_rollout"
    label = "Attention rollout"
    family = "attention"
    signed = False
    description = ("The class token's attention to each patch, rolled out through the layers: each layer's attention "
                   "fused over heads, plus the identity for the residual path, rows normalised, multiplied through "
                   "(Abnar & Zuidema 2020). It reads attention only: the map is the same for every target class.")
    params = (
        Param("head_fusion", "choice", "mean", choices=("mean", "max", "min"), help="How each layer's heads are fused."),
        Param("discard", "float", 0.0, 0.0, 0.99, help="Share of each layer's lowest fused attention weights set to "
              "zero before the rollout (0: none)."),
    )
    requires = (ATTENTION,)

    def compute(self, ctx: Context, head_fusion: str = "mean", discard: float = 0.0) -> torch.Tensor:
        encoder = encoder_for(ctx)
        return class_row_map(ctx, rollout(attentions(ctx, encoder), head_fusion, discard), encoder.prefix)


@register
class CheferRollout(AttributionMethod):
    name = "chefer"
    label = "Gradient-weighted rollout (Chefer)"
    family = "attention"
    signed = False
    description = ("Each layer's attention weighted by its gradient, positive part averaged over heads, rolled out "
                   "as R = R + A R (Chefer et al., ICCV 2021, generic attention-model explainability); the class "
                   "token's row.")
    requires = (AUTOGRAD, ATTENTION)

    def compute(self, ctx: Context) -> torch.Tensor:
        encoder = encoder_for(ctx)
        return class_row_map(ctx, chefer_relevance(attentions_and_gradients(ctx, encoder)), encoder.prefix)
