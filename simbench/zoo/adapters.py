"""Adapters: other people's recurrent networks seen through simbench's Network interface.

:class:`TorchRNNAdapter` wraps a ``torch.nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` and an
``nn.Linear`` readout as a Network-like object (``step(h, u)``, ``readout(h)``,
``initial_state(batch)``, ``run(inputs)``), so that every analysis in simbench (recordings,
metrics, fixed points, :func:`simbench.place`) takes it like a zoo member::

    rnn, readout = nn.GRU(3, 32, batch_first=True), nn.Linear(32, 3)
    net = TorchRNNAdapter(rnn, readout)      # after training
    states, outputs = net.run(inputs)        # [B, T, S], [B, T, O]

The state of the dynamical system is every layer's hidden state, ``[h₁, …, h_L]``
(size L·H), and for an LSTM also the cell states, ``[h₁, …, h_L, c₁, …, c_L]`` (2·L·H;
for one layer ``[h, c]``, the zoo's LSTM convention). The readout sees the last layer's
``h``. ``step`` writes torch's equations out (``torch.nn.GRU`` documentation)::

    RNN:  h' = f(W_ih u + b_ih + W_hh h + b_hh),        f = tanh or relu
    GRU:  r = σ(W_ir u + b_ir + W_hr h + b_hr),  z = σ(W_iz u + b_iz + W_hz h + b_hz)
          n = tanh(W_in u + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
    LSTM: i, f, g, o = σ, σ, tanh, σ of (W_i u + b_i + W_h h + b_h),
          c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')

in the dtype of ``h`` (the module's parameters are cast), so the fixed-point search can
run in float64 on a network trained in float32. ``run`` calls the module itself for a
one-layer RNN or GRU (its outputs are then exactly the module's) and iterates ``step``
otherwise (the module returns neither the inner layers' nor the cell states).
Bidirectional networks (no causal dynamics) and LSTMs with ``proj_size`` are refused.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

_KINDS = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}


class TorchRNNAdapter:
    """A trained ``nn.RNN``/``nn.GRU``/``nn.LSTM`` plus an ``nn.Linear`` readout as a Network.

    Attributes: ``n_inputs``, ``n_outputs``, ``state_size``, ``time = "discrete"``,
    ``metadata`` (``architecture`` is ``"torch-gru"`` etc. unless given).
    """

    time = "discrete"
    alpha = None

    def __init__(self, rnn: nn.Module, readout: nn.Linear, metadata: dict | None = None):
        kind = next((name for cls, name in _KINDS.items() if isinstance(rnn, cls)), None)
        if kind is None:
            raise TypeError(f"TorchRNNAdapter takes an nn.RNN, nn.GRU or nn.LSTM, got {type(rnn).__name__}")
        if rnn.bidirectional:
            raise ValueError("a bidirectional RNN has no causal dynamics: pass a unidirectional one")
        if getattr(rnn, "proj_size", 0):
            raise ValueError("LSTMs with proj_size are not supported")
        if not isinstance(readout, nn.Linear) or readout.in_features != rnn.hidden_size:
            raise ValueError(f"readout must be an nn.Linear({rnn.hidden_size}, n_outputs), got {readout!r}")
        self.rnn, self.readout_layer, self.kind = rnn, readout, kind
        self.hidden, self.layers = rnn.hidden_size, rnn.num_layers
        self.n_inputs, self.n_outputs = rnn.input_size, readout.out_features
        self.state_size = self.hidden * self.layers * (2 if kind == "lstm" else 1)
        self.metadata = {"architecture": f"torch-{kind}", "hidden": self.hidden, **(metadata or {})}

    def _weights(self, layer: int, dtype) -> tuple[torch.Tensor, ...]:
        names = [f"weight_ih_l{layer}", f"weight_hh_l{layer}", f"bias_ih_l{layer}", f"bias_hh_l{layer}"]
        return tuple(getattr(self.rnn, n).to(dtype) if getattr(self.rnn, n, None) is not None else None
                     for n in names)

    def _cell(self, layer: int, x, h, c):
        """One layer's next ``(h, c)`` (``c`` is None except for an LSTM)."""
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, h.dtype)
        gi, gh = F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)
        if self.kind == "rnn":
            return (torch.tanh if self.rnn.nonlinearity == "tanh" else torch.relu)(gi + gh), None
        if self.kind == "gru":
            i_r, i_z, i_n = gi.chunk(3, -1)
            h_r, h_z, h_n = gh.chunk(3, -1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            return (1 - z) * n + z * h, None
        i, f, g, o = (gi + gh).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def step(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Next state ``[B, S]`` from state ``h [B, S]`` and input ``u [B, I]`` (module doc)."""
        L, H = self.layers, self.hidden
        hs = list(h[..., : L * H].split(H, -1))
        cs = list(h[..., L * H:].split(H, -1)) if self.kind == "lstm" else [None] * L
        x = u.to(h.dtype)
        for layer in range(L):
            hs[layer], cs[layer] = self._cell(layer, x, hs[layer], cs[layer])
            x = hs[layer]
        return torch.cat(hs + (cs if self.kind == "lstm" else []), -1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """The linear readout of the last layer's ``h``: ``[..., S]`` → ``[..., O]``."""
        last = h[..., (self.layers - 1) * self.hidden: self.layers * self.hidden]
        w, b = self.readout_layer.weight, self.readout_layer.bias
        return F.linear(last, w.to(h.dtype), None if b is None else b.to(h.dtype))

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        """Zeros ``[batch, S]`` (torch's default initial state)."""
        return torch.zeros(batch, self.state_size, dtype=self.rnn.weight_hh_l0.dtype)

    @torch.no_grad()
    def run(self, inputs, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(states [B, T, S], outputs [B, T, O])`` for ``inputs [B, T, I]``, from ``h0`` or zeros."""
        dtype = self.rnn.weight_hh_l0.dtype
        inputs = torch.as_tensor(inputs, dtype=dtype)
        if inputs.ndim != 3 or inputs.shape[-1] != self.n_inputs:
            raise ValueError(f"inputs must be [batch, time, {self.n_inputs}], got {tuple(inputs.shape)}")
        if self.kind != "lstm" and self.layers == 1:
            x = inputs if self.rnn.batch_first else inputs.transpose(0, 1)
            states, _ = self.rnn(x, None if h0 is None else h0[None].to(dtype))
            states = states if self.rnn.batch_first else states.transpose(0, 1)
        else:
            h = self.initial_state(inputs.shape[0]) if h0 is None else h0.to(dtype)
            steps = []
            for t in range(inputs.shape[1]):
                h = self.step(h, inputs[:, t])
                steps.append(h)
            states = torch.stack(steps, 1)
        return states, self.readout(states)

    def __repr__(self) -> str:
        return f"<TorchRNNAdapter {self.kind}, {self.layers} layer(s) × {self.hidden} units, {self.n_inputs} inputs>"
