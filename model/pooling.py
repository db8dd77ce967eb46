"""Summary vectors of a marked sentence from the encoder's last layer.

`ss`  the sentence start token ([CLS] / <s>);
`es`  the head's and the tail's start markers, concatenated (head first: direction);
`emp` entity max pooling: per entity, the element-wise max over its start marker, its
      sub-tokens and its end marker; head and tail concatenated — the paper's best;
`es+type` `es` plus a learned embedding of each entity's type (the paper's UM-ES+type
      baseline, which gives uniform markers the type information ETM puts in the input).
"""

from __future__ import annotations

import torch
from torch import nn

from polyrel.model.choices import POOLINGS


def span_max(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """Max over positions `spans[:, 0]..spans[:, 1]` (inclusive) of each row: [B, L, H] → [B, H]."""
    positions = torch.arange(hidden.size(1), device=hidden.device)
    inside = (positions >= spans[:, :1]) & (positions <= spans[:, 1:])
    return hidden.masked_fill(~inside.unsqueeze(-1), torch.finfo(hidden.dtype).min).amax(dim=1)


def gather(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The vector at one position per row: [B, L, H], [B] → [B, H]."""
    return hidden[torch.arange(hidden.size(0), device=hidden.device), positions]


class Pooler(nn.Module):
    def __init__(self, method: str, hidden_size: int, n_entity_types: int = 0, type_dim: int = 0) -> None:
        super().__init__()
        if method not in POOLINGS:
            raise ValueError(f"unknown pooling {method!r}; choose from {POOLINGS}")
        self.method = method
        self.type_embedding = (
            nn.Embedding(n_entity_types + 1, type_dim) if method == "es+type" else None
        )  # row 0: a type unseen in training
        self.output_size = {
            "ss": hidden_size, "es": 2 * hidden_size, "emp": 2 * hidden_size,
            "es+type": 2 * hidden_size + 2 * type_dim,
        }[method]

    def forward(
        self, hidden: torch.Tensor, head_span: torch.Tensor, tail_span: torch.Tensor,
        head_type: torch.Tensor, tail_type: torch.Tensor,
    ) -> torch.Tensor:
        if self.method == "ss":
            return hidden[:, 0]
        if self.method == "emp":
            return torch.cat([span_max(hidden, head_span), span_max(hidden, tail_span)], dim=-1)
        starts = torch.cat([gather(hidden, head_span[:, 0]), gather(hidden, tail_span[:, 0])], dim=-1)
        if self.type_embedding is None:
            return starts
        types = torch.cat([self.type_embedding(head_type), self.type_embedding(tail_type)], dim=-1)
        return torch.cat([starts, types.to(starts.dtype)], dim=-1)
