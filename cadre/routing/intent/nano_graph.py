"""A lean forward of the nano classifier, written for export to ONNX.

Hugging Face's LlamaForSequenceClassification runs every layer over every token, scores
every token and then keeps one row per text (the last that is not padding). The exported
graph of that costs ~15 ms for 64 short texts on one core; most of it is the last layer's
MLP over tokens nobody reads, and generic mask and cache plumbing. Here the last layer
computes keys and values for all tokens but its query, attention output and MLP only at
the pooled token, and the mask is built once. The result is the same function: the export
is checked against the Hugging Face model (`nano.check_parity`) before it is used, and a
model this module does not cover exports the generic way.
"""
from __future__ import annotations

import torch
from torch import nn

GRAPH = "cadre-lean-v1"  # saved in the ONNX metadata, so older exports are redone once
MASKED = -1e9  # finite, so a fully masked (padding) row never turns into NaN


def supports(model) -> bool:
    """Whether this forward reproduces the model: a Llama classifier with default RoPE and no biases."""
    cfg = model.config
    rope = getattr(cfg, "rope_parameters", None) or {"rope_type": "default"}
    return (getattr(cfg, "model_type", "") == "llama" and hasattr(model, "score")
            and rope.get("rope_type", "default") == "default"
            and not getattr(cfg, "attention_bias", False) and not getattr(cfg, "mlp_bias", False)
            and getattr(cfg, "hidden_act", "silu") == "silu" and cfg.pad_token_id is not None)


class LeanClassifier(nn.Module):
    """(input_ids (B, T), attention_mask (B, T)) -> logits (B, R), sharing `model`'s weights."""

    def __init__(self, model):
        super().__init__()
        cfg = model.config
        self.base, self.score = model.model, model.score
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.pad = cfg.pad_token_id
        theta = cfg.rope_parameters["rope_theta"] if getattr(cfg, "rope_parameters", None) else cfg.rope_theta
        inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float) / self.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, input_ids, attention_mask):
        batch, tokens = input_ids.shape
        x = self.base.embed_tokens(input_ids)  # (B, T, H)
        positions = torch.arange(tokens, device=x.device)
        freqs = positions[:, None].float() * self.inv_freq  # (T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # (1, 1, T, D)
        causal = positions[None, :] <= positions[:, None]  # (T, T): query row, key column
        allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]  # (B, 1, T, T)
        bias = torch.where(allowed, 0.0, MASKED)
        last = (positions[None, :] * (input_ids != self.pad).long()).argmax(-1)  # (B,) as HF pools
        rows = torch.arange(batch, device=x.device)
        layers = list(self.base.layers)
        for layer in layers[:-1]:
            x = self._block(layer, x, x, cos, sin, cos, sin, bias)
        query = x[rows, last][:, None]  # (B, 1, H): the one token the last layer must finish
        qcos, qsin = cos[0, 0][last][:, None, None], sin[0, 0][last][:, None, None]  # (B, 1, 1, D)
        x = self._block(layers[-1], query, x, qcos, qsin, cos, sin, bias[rows, :, last][:, :, None])
        return self.score(self.base.norm(x[:, 0]))  # (B, R)

    def _block(self, layer, q_in, kv_in, qcos, qsin, kcos, ksin, bias):
        """One decoder layer; queries from q_in (B, Q, H), keys and values from kv_in (B, T, H)."""
        attn = layer.self_attn
        h_q, h_kv = layer.input_layernorm(q_in), layer.input_layernorm(kv_in)
        q = self._split(attn.q_proj(h_q), self.heads)  # (B, heads, Q, D)
        k = self._split(attn.k_proj(h_kv), self.kv_heads)  # (B, kv, T, D)
        v = self._split(attn.v_proj(h_kv), self.kv_heads)
        q, k = q * qcos + _rotate_half(q) * qsin, k * kcos + _rotate_half(k) * ksin
        if self.kv_heads != self.heads:
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        scores = q @ k.transpose(-1, -2) * (self.head_dim ** -0.5) + bias  # (B, heads, Q, T)
        out = (scores.softmax(-1) @ v).transpose(1, 2).flatten(2)  # (B, Q, heads·D)
        x = q_in + attn.o_proj(out)
        mlp = layer.mlp
        h = layer.post_attention_layernorm(x)
        return x + mlp.down_proj(nn.functional.silu(mlp.gate_proj(h)) * mlp.up_proj(h))

    def _split(self, x, heads: int):
        batch, tokens, _ = x.shape
        return x.view(batch, tokens, heads, self.head_dim).transpose(1, 2)


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
