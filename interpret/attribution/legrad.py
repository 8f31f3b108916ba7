"""LeGrad (Bousselham et al. 2024): how sensitive each block's own prediction is to that block's attention weights.

For each of the last `blocks` blocks l of a ViT, the block's output tokens are read as the model would read them
if the network ended there: their mean, the model's final norm and head (`Encoder.project`, torchcam's projection
on torchvision ViTs, the authors' on CLIP), giving logits and the target's score s_l. LeGrad's map is the gradient
d s_l / d A_l of that score with respect to the block's attention weights, its positive part averaged over heads and
query tokens, read at the patch tokens (keys), and averaged over the blocks. The attention values themselves are not
multiplied in.

The weights are never needed, only their gradient, which is exact without A in the graph (see
interpret.attribution.attention): the block's output is O = A V per head, so d s / d A = (d s / d O) V^T, and
d s / d O = (d s / d out) W from the gradient at the output projection. So fused attention (timm's default,
transformers' "sdpa") works as is: V and the projection's output are captured with `interpret.capture.capture` under
the model's lock on the shared model, nothing swapped. Tests compare the map with torchcam's `LeGrad` on a
torchvision ViT, and with the formula applied to the attention weights of an unfused timm copy.
"""
from __future__ import annotations

import torch

from ..capture import capture
from ..errors import LayerError
from ..layers import token_grid
from .attention import ATTENTION, Encoder, check_calls, encoder_for, split_heads
from .base import AttributionMethod, Context, Param, register
from .passes import shared
from .requirements import AUTOGRAD

BLOCKS = Param("blocks", "int", 2, 1, 256, help="The last blocks whose maps are averaged (the authors' code uses the "
               "last 2; a number above the model's depth uses every block).")


def chosen_blocks(encoder: Encoder, blocks: int) -> Encoder:
    """The encoder's last `blocks` blocks (all of them when it has fewer)."""
    return Encoder(encoder.blocks[-blocks:], encoder.prefix, encoder.project)


def key_relevance(ctx: Context, encoder: Encoder) -> torch.Tensor:
    """Per image of ctx.x and per block: relu(d s_l / d A_l) averaged over heads and queries, at every key token
    (N x blocks x tokens). One forward pass, one short backward pass per block (from s_l to the block's output
    projection). The projections' outputs are captured as leaves, so the forward records a graph from the first
    block used on, and no backward goes further back."""
    sources = [s for b in encoder.blocks for s in b.sources] + [b.name for b in encoder.blocks]
    outs = [b.out for b in encoder.blocks]
    with ctx.lm.lock, torch.enable_grad(), capture(ctx.lm.model, outs, keep="leaf") as cut, \
            capture(ctx.lm.model, sources, keep="graph") as kept:
        kept.run(ctx.x.detach())
    captured = {**kept, **cut}
    check_calls(captured, {**kept.calls, **cut.calls}, sources + outs)
    rows = []
    for i, block in enumerate(encoder.blocks):
        with torch.enable_grad():
            score = ctx.score(encoder.project(captured[block.name])).sum()
            (grad_out,) = torch.autograd.grad(score, captured[block.out], retain_graph=i + 1 < len(encoder.blocks))
        with torch.no_grad():
            v = block.values(captured)
            grad_o = split_heads(grad_out.float() @ block.out_weight.float(), v.shape[1])  # d s / d O, per head
            grad_a = grad_o @ v.detach().float().transpose(-2, -1)  # O = A V: d s / d A = (d s / d O) V^T
            rows.append(grad_a.clamp_min(0).mean((1, 2)))  # N x keys
    return torch.stack(rows, 1)


def legrad_maps(ctx: Context, encoder: Encoder) -> torch.Tensor:
    """Each image's LeGrad map over the patch grid (N x h x w): the blocks' key relevances averaged."""
    relevance = key_relevance(ctx, encoder).mean(1)[:, encoder.prefix:]
    size = (int(ctx.x.shape[-2]), int(ctx.x.shape[-1]))
    grid = token_grid(int(relevance.shape[1]), size)
    if grid is None:
        raise LayerError(f"The model's {relevance.shape[1]} patch tokens do not form a grid for a {size[0]} x "
                         f"{size[1]} input.")
    return relevance.reshape(len(relevance), *grid)


@register
class LeGrad(AttributionMethod):
    name = "legrad"
    label = "LeGrad"
    family = "attention"
    signed = False
    batchable = True
    description = ("For each of the last blocks, the gradient of the prediction the block's own output would give "
                   "(mean token, final norm and head) with respect to its attention weights; positive part, mean "
                   "over heads and queries, averaged over the blocks (Bousselham et al. 2024).")
    params = (BLOCKS,)
    requires = (AUTOGRAD, ATTENTION)

    def compute(self, ctx: Context, blocks: int = 2) -> torch.Tensor:
        return self._maps(ctx, blocks)[0]

    def compute_batch(self, ctx: Context, blocks: int = 2) -> list[torch.Tensor]:
        return list(self._maps(ctx, blocks))

    def _maps(self, ctx: Context, blocks: int) -> torch.Tensor:
        encoder = encoder_for(ctx)
        used = chosen_blocks(encoder, blocks)
        if blocks >= len(encoder.blocks):
            ctx.note = f"all {len(encoder.blocks)} blocks"
        else:
            ctx.note = f"the last {len(used.blocks)} of {len(encoder.blocks)} blocks"
        return shared(ctx, "legrad", (len(used.blocks),), lambda: legrad_maps(ctx, used))
