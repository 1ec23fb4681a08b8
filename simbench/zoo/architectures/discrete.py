"""Discrete-time cells of Maheswaranathan et al. (NeurIPS 2019), as populations.

Parameter layout (population axis first, right-multiplied: ``x @ w``):
``w_in [N, I, G]``, ``b_in [N, 1, G]``, ``w_rec [N, H, G]``, ``w_out [N, H, O]``,
``b_out [N, 1, O]`` with ``G = gates × H``. Gate order follows torch (GRU: r, z, n;
LSTM: i, f, g, o) so weights copy across from ``torch.nn.GRU`` / ``torch.nn.LSTM``.
"""

from __future__ import annotations

import math

import torch

from simbench.zoo.architectures.functional import ACTIVATIONS_INTO, tanh
from simbench.zoo.architectures.leaky import LeakyRecurrence
from simbench.zoo.architectures.population import Population, uniform


def _readout(generator, hidden, n_outputs):
    return {
        "w_out": torch.randn(hidden, n_outputs, generator=generator) / math.sqrt(hidden),
        "b_out": torch.zeros(1, n_outputs),
    }


class Vanilla(LeakyRecurrence):
    """h' = f(h W_rec + W_in u + b) with f = tanh or ReLU.

    ``init="identity"``: W_rec = 0.9·I + N(0, 0.01/H), close to the identity
    initialisation of Le et al. (2015) but contracting, so activity stays bounded;
    ``init="orthogonal"``: a random orthogonal W_rec (gain 1). Default: identity for
    ReLU, orthogonal for tanh (the better of the two for each in our sweeps,
    ``scripts/sweep.py``: tanh with identity lost 0.1–0.15 R² on cdi and one sine seed).
    """

    weight_names = ("w_in", "w_rec", "w_out")

    def __init__(self, n_inputs, n_outputs, hidden, seeds, activation="tanh", init=None):
        self._set_activation(activation, ("tanh", "relu"))
        init = init or ("identity" if activation == "relu" else "orthogonal")
        if init not in ("identity", "orthogonal"):
            raise ValueError(f"unknown init {init!r}; valid: identity, orthogonal")
        super().__init__(n_inputs, n_outputs, hidden, seeds, activation=activation, init=init)

    def _init_member(self, g):
        h, i = self.hidden, self.n_inputs
        if self.options["init"] == "orthogonal":
            w_rec = torch.linalg.qr(torch.randn(h, h, generator=g))[0]
        else:
            w_rec = 0.9 * torch.eye(h) + 0.1 * torch.randn(h, h, generator=g) / math.sqrt(h)
        return {
            "w_in": torch.randn(i, h, generator=g) / math.sqrt(i),
            "b_in": torch.zeros(1, h),
            "w_rec": w_rec,
            **_readout(g, h, self.n_outputs),
        }


class GRU(Population):
    """Gated recurrent unit (Cho et al. 2014) in torch's convention.

    r = σ(a_r + W_r h + c_r), z = σ(a_z + W_z h + c_z), n = tanh(a_n + r ⊙ (W_n h + c_n)),
    h' = (1 − z) ⊙ n + z ⊙ h, where a = W_in u + b_in is the input drive.
    Initialisation U(−1/√H, 1/√H) as torch.
    """

    weight_names = ("w_in", "w_rec", "w_out")

    def _init_member(self, g):
        h, i, bound = self.hidden, self.n_inputs, 1 / math.sqrt(self.hidden)
        return {
            "w_in": uniform(g, (i, 3 * h), bound),
            "b_in": uniform(g, (1, 3 * h), bound),
            "w_rec": uniform(g, (h, 3 * h), bound),
            "b_rec": uniform(g, (1, 3 * h), bound),
            **_readout(g, h, self.n_outputs),
        }

    def recurrent_parameters(self):
        return (self.w_rec, self.b_rec)

    def _gates(self, h, drive):
        hidden = self.hidden
        recurrent = torch.baddbmm(self.b_rec, h, self.w_rec)
        rz = torch.sigmoid(drive[..., : 2 * hidden] + recurrent[..., : 2 * hidden])
        r, z = rz[..., :hidden], rz[..., hidden:]
        rec_n = recurrent[..., 2 * hidden :]
        n = tanh(drive[..., 2 * hidden :] + r * rec_n)
        return r, z, n, rec_n

    def _recur(self, h, drive):
        _, z, n, _ = self._gates(h, drive)
        return torch.lerp(n, h, z)

    def scan(self, drive, h0, save=True):
        h, states, saved = h0, [], []
        for drive_t in drive.unbind(0):
            r, z, n, rec_n = self._gates(h, drive_t)
            h = torch.lerp(n, h, z)
            states.append(h)
            if save:
                saved.append(torch.stack([r, z, n, rec_n]))
        return torch.stack(states), (torch.stack(saved) if save else None)

    def scan_backward(self, d_states, drive, h0, states, saved):
        w_t = self.w_rec.transpose(1, 2)
        d_drive = torch.empty_like(drive)
        d_rec = torch.empty_like(drive)
        d_h = torch.zeros_like(h0)
        hidden = self.hidden
        for t in reversed(range(len(drive))):
            r, z, n, rec_n = saved[t]
            h_prev = states[t - 1] if t else h0
            g = d_states[t] + d_h
            d_n = g * (1 - z) * (1 - n * n)
            d_r = d_n * rec_n * r * (1 - r)
            d_z = g * (h_prev - n) * z * (1 - z)
            torch.mul(d_n, r, out=d_rec[t, ..., 2 * hidden :])
            d_rec[t, ..., :hidden] = d_r
            d_rec[t, ..., hidden : 2 * hidden] = d_z
            d_drive[t] = d_rec[t]
            d_drive[t, ..., 2 * hidden :] = d_n
            d_h = torch.baddbmm(g * z, d_rec[t], w_t)
        d_w = self.weight_gradient(h0, states, d_rec)
        return d_drive, d_h, (d_w, d_rec.sum((0, 2)).unsqueeze(1))


class LSTM(Population):
    """Long short-term memory (Hochreiter & Schmidhuber 1997) in torch's convention.

    i, f, o = σ(·), g = tanh(·) of a + W_rec h; c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').
    The state stacks ``[h, c]`` (size 2H); the readout sees ``h``. Initialisation
    U(−1/√H, 1/√H) as torch, plus a forget-gate bias of 1 (Jozefowicz et al. 2015).
    """

    weight_names = ("w_in", "w_rec", "w_out")

    @property
    def state_size(self):
        return 2 * self.hidden

    def _init_member(self, g):
        h, i, bound = self.hidden, self.n_inputs, 1 / math.sqrt(self.hidden)
        b_in = uniform(g, (1, 4 * h), bound)
        b_in[:, h : 2 * h] += 1.0
        return {
            "w_in": uniform(g, (i, 4 * h), bound),
            "b_in": b_in,
            "w_rec": uniform(g, (h, 4 * h), bound),
            **_readout(g, h, self.n_outputs),
        }

    def _gates(self, state, drive):
        hidden = self.hidden
        h, c = state[..., :hidden], state[..., hidden:]
        pre = torch.baddbmm(drive, h, self.w_rec)
        i, f, g, o = pre.split(hidden, -1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        return i, f, g, o, c, tanh(c)

    def _recur(self, state, drive):
        _, _, _, o, c, tanh_c = self._gates(state, drive)
        return torch.cat([o * tanh_c, c], -1)

    def scan(self, drive, h0, save=True):
        # each step writes into preallocated buffers; the operations (and so the bits)
        # are those of _gates
        hidden, shape = self.hidden, (*h0.shape[:-1], self.hidden)
        states = drive.new_empty(len(drive), *h0.shape)
        saved = drive.new_empty(len(drive) if save else 1, 5, *shape)
        scratch = drive.new_empty(shape)
        state = h0
        for t in range(len(drive)):
            i, f, g, o, tanh_c = saved[t if save else 0]
            pre = torch.baddbmm(drive[t], state[..., :hidden], self.w_rec)
            pre_i, pre_f, pre_g, pre_o = pre.split(hidden, -1)
            torch.sigmoid(pre_i, out=i)
            torch.sigmoid(pre_f, out=f)
            # torch's kernels vectorise only contiguous inputs; 2z is contiguous as in _gates
            ACTIVATIONS_INTO["tanh"](torch.mul(pre_g, 1, out=scratch), g)
            torch.sigmoid(pre_o, out=o)
            c = states[t, ..., hidden:]
            torch.add(torch.mul(f, state[..., hidden:], out=scratch), torch.mul(i, g, out=c), out=c)
            ACTIVATIONS_INTO["tanh"](torch.mul(c, 1, out=scratch), tanh_c)
            torch.mul(o, tanh_c, out=states[t, ..., :hidden])
            state = states[t]
        return states, (saved if save else None)

    def scan_backward(self, d_states, drive, h0, states, saved):
        hidden, w_t = self.hidden, self.w_rec.transpose(1, 2)
        shape = (*h0.shape[:-1], hidden)
        d_drive = torch.empty_like(drive)
        d_h, d_c = drive.new_zeros(shape), drive.new_zeros(shape)
        a, b = drive.new_empty(shape), drive.new_empty(shape)

        def times_one_minus(x, y, out):  # x ⊙ (1 − y), written as −y + 1 (the same bits)
            return torch.neg(y, out=out).add_(1).mul_(x)

        for t in reversed(range(len(drive))):
            i, f, g, o, tanh_c = saved[t]
            c_prev = (states[t - 1] if t else h0)[..., hidden:]
            torch.add(d_states[t, ..., :hidden], d_h, out=d_h)
            # d_c ← d_states[t] + d_c + (d_h ⊙ o) ⊙ (1 − tanh²c)
            torch.add(d_states[t, ..., hidden:], d_c, out=d_c)
            d_c.add_(torch.mul(d_h, o, out=a).mul_(times_one_minus(1, torch.mul(tanh_c, tanh_c, out=b), b)))
            d_gates = d_drive[t].view(*shape[:-1], 4, hidden)
            torch.mul(torch.mul(d_c, g, out=a), times_one_minus(i, i, b), out=d_gates[..., 0, :])
            torch.mul(torch.mul(d_c, c_prev, out=a), times_one_minus(f, f, b), out=d_gates[..., 1, :])
            torch.mul(torch.mul(d_c, i, out=a), times_one_minus(1, torch.mul(g, g, out=b), b), out=d_gates[..., 2, :])
            torch.mul(torch.mul(d_h, tanh_c, out=a), times_one_minus(o, o, b), out=d_gates[..., 3, :])
            d_c.mul_(f)
            torch.bmm(d_drive[t], w_t, out=d_h)
        d_w = self.weight_gradient(h0, states, d_drive)
        return d_drive, torch.cat([d_h, d_c], -1), (d_w,)


class UGRNN(Population):
    """Update-gate RNN (Collins, Sohl-Dickstein & Sussillo, ICLR 2017).

    c = tanh(a_c + W_c h), g = σ(a_g + W_g h), h' = g ⊙ h + (1 − g) ⊙ c.
    Initialisation U(−1/√H, 1/√H), gate bias 1 (start close to remembering).
    """

    weight_names = ("w_in", "w_rec", "w_out")

    def _init_member(self, g):
        h, i, bound = self.hidden, self.n_inputs, 1 / math.sqrt(self.hidden)
        b_in = torch.zeros(1, 2 * h)
        b_in[:, h:] = 1.0
        return {
            "w_in": uniform(g, (i, 2 * h), bound),
            "b_in": b_in,
            "w_rec": uniform(g, (h, 2 * h), bound),
            **_readout(g, h, self.n_outputs),
        }

    def _gates(self, h, drive):
        candidate, gate = torch.baddbmm(drive, h, self.w_rec).split(self.hidden, -1)
        return tanh(candidate), torch.sigmoid(gate)

    def _recur(self, h, drive):
        candidate, gate = self._gates(h, drive)
        return torch.lerp(candidate, h, gate)

    def scan(self, drive, h0, save=True):
        h, states, saved = h0, [], []
        for drive_t in drive.unbind(0):
            candidate, gate = self._gates(h, drive_t)
            h = torch.lerp(candidate, h, gate)
            states.append(h)
            if save:
                saved.append(torch.stack([candidate, gate]))
        return torch.stack(states), (torch.stack(saved) if save else None)

    def scan_backward(self, d_states, drive, h0, states, saved):
        w_t = self.w_rec.transpose(1, 2)
        d_drive = torch.empty_like(drive)
        d_h = torch.zeros_like(h0)
        for t in reversed(range(len(drive))):
            candidate, gate = saved[t]
            h_prev = states[t - 1] if t else h0
            g = d_states[t] + d_h
            d_pre = d_drive[t].view(*g.shape[:-1], 2, self.hidden)
            torch.mul(g * (1 - gate), 1 - candidate * candidate, out=d_pre[..., 0, :])
            torch.mul(g * (h_prev - candidate), gate * (1 - gate), out=d_pre[..., 1, :])
            d_h = torch.baddbmm(g * gate, d_drive[t], w_t)
        return d_drive, d_h, (self.weight_gradient(h0, states, d_drive),)
