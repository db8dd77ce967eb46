"""Hidden states below a compact model's trained top layers, computed once per distinct input.

When only the encoder's last N layers train (`AdapterConfig.frozen_below_top`), everything
beneath them is a fixed function of the input ids: computing it once (eval mode, bf16 where the
hardware has it) and reusing it every epoch leaves each training step with N layers to run
forward and backward instead of twelve. The states are kept in bf16 (half the memory of
float32) and computed lazily, so per-epoch samples cost only what they touch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from polyrel.model.batching import length_batches
from polyrel.model.encoders.backbone import EncoderModel
from polyrel.model.precision import autocast, resolve


class LowerLayerCache:
    def __init__(self, model: EncoderModel, precision: str = "auto", batch_size: int = 64, pad_id: int = 0) -> None:
        self.model = model
        self.precision = precision  # of the computation; the states are stored in bf16
        self.batch_size = batch_size
        self.pad_id = pad_id
        self.states: dict[tuple[int, ...], torch.Tensor] = {}

    def fill(self, sequences: Sequence[tuple[int, ...]]) -> None:
        """Compute the states of the sequences not cached yet."""
        todo = list(dict.fromkeys(s for s in sequences if s not in self.states))
        if not todo:
            return
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode(), autocast(str(device), resolve(self.precision, str(device))):
            for batch in length_batches([len(s) for s in todo], self.batch_size):
                width = max(len(todo[i]) for i in batch)
                ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for row, i in enumerate(batch):
                    ids[row, : len(todo[i])] = torch.tensor(todo[i])
                    mask[row, : len(todo[i])] = 1
                hidden = self.model.lower_hidden(ids.to(device), mask.to(device)).to(torch.bfloat16).cpu()
                for row, i in enumerate(batch):
                    self.states[todo[i]] = hidden[row, : len(todo[i])].clone()
        self.model.train(was_training)

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The cached states for a right-padded batch of input ids, padded alike: [B, L, H] float32."""
        rows = [tuple(ids[: int(n)].tolist()) for ids, n in zip(input_ids, attention_mask.sum(dim=1))]
        self.fill(rows)
        out = torch.zeros(*input_ids.shape, self.states[rows[0]].shape[-1])
        for row, key in enumerate(rows):
            out[row, : len(key)] = self.states[key].float()
        return out

    @property
    def bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.states.values())
