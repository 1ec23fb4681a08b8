"""Discrete-time cells of Maheswaranathan et al. (NeurIPS 2019), as populations.

Parameter layout (population axis first, right-multiplied: ``x @ w``):
``w_in [N, I, G]``, ``b_in [N, 1, G]``, ``w_rec [N, H, G]``, ``w_out [N, H, O]``,
``b_out [N, 1, O]`` with ``G = gates × H``. Gate order follows torch (GRU: r, z, n;
LSTM: i, f, g, o) so weights copy across from ``torch.nn.GRU`` / ``torch.nn.LSTM``.
"""

from __future__ import annotations

import math

import torch

from simbench.zoo.architectures.functional import (logistic_slope_into, tanh, tanh_from_sigmoid_, tanh_into,
                                                     tanh_slope_into)
from simbench.zoo.architectures.leaky import LeakyRecurrence
from simbench.zoo.architectures.population import Population, uniform


def one_minus(y, out):
    """1 − y written as −y + 1 (the same bits) into ``out``."""
    return torch.neg(y, out=out).add_(1)


def times_one_minus(x, y, out):
    """x ⊙ (1 − y) into ``out`` (the same bits as ``x * (1 - y)``)."""
    return one_minus(y, out).mul_(x)


def _readout(generator, hidden, n_outputs):
    return {
        "w_out": torch.randn(hidden, n_outputs, generator=generator) / math.sqrt(hidden),
        "b_out": torch.zeros(1, n_outputs),
    }


class Vanilla(LeakyRecurrence):
    """h' = f(h W_rec + W_in u + b) with f = tanh or ReLU.

    ``init="identity"`` (default): W_rec = 0.9·I + N(0, 0.01/H), close to the identity
    initialisation of Le et al. (2015) but contracting, so activity stays bounded;
    ``init="orthogonal"``: a random orthogonal W_rec (gain 1). Input weights are
    N(0, input_gain²/I); ``input_gain`` defaults to 1 for ReLU and 0.1 for tanh, so a
    5-step pulse leaves tanh units in their linear range. Measured on the reference zoo's
    recipe with 3 seeds: orthogonal tanh networks with input gain 1 integrate three
    channels (``integrate3``, 120-step trials) only to R² 0.46–0.79; identity with input
    gain 0.25, plus the trainer's learning-rate drops, 0.90–0.96; on 200-step trials
    input gain 0.25 gives 0.57–0.94 and 0.1 gives 0.85–0.94 (zoo/reference/README.md).
    """

    weight_names = ("w_in", "w_rec", "w_out")

    def __init__(self, n_inputs, n_outputs, hidden, seeds, activation="tanh", init="identity",
                 input_gain=None):
        self._set_activation(activation, ("tanh", "relu"))
        if init not in ("identity", "orthogonal"):
            raise ValueError(f"unknown init {init!r}; valid: identity, orthogonal")
        input_gain = (0.1 if activation == "tanh" else 1.0) if input_gain is None else float(input_gain)
        if not input_gain > 0:
            raise ValueError(f"input_gain must be positive, got {input_gain!r}")
        super().__init__(n_inputs, n_outputs, hidden, seeds, activation=activation, init=init,
                         input_gain=input_gain)

    def _init_member(self, g):
        h, i = self.hidden, self.n_inputs
        if self.options["init"] == "orthogonal":
            w_rec = torch.linalg.qr(torch.randn(h, h, generator=g))[0]
        else:
            w_rec = 0.9 * torch.eye(h) + 0.1 * torch.randn(h, h, generator=g) / math.sqrt(h)
        return {
            "w_in": self.options["input_gain"] * torch.randn(i, h, generator=g) / math.sqrt(i),
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
        # each step writes into preallocated buffers; the operations (and so the bits)
        # are those of _gates. Saved per step: [r, z], n and the term W_n h + c_n.
        hidden, steps = self.hidden, len(drive)
        shape = h0.shape[:-1]
        states = h0.new_empty(steps, *h0.shape)
        kept = steps if save else 1
        rz, n, rec_n = (self.workspace.take(h0, kept, *shape, width * hidden) for width in (2, 1, 1))
        recurrent = h0.new_empty(*shape, 3 * hidden)
        scratch, pre_n = h0.new_empty(*shape, 2 * hidden), h0.new_empty(*shape, hidden)
        h = h0
        for t in range(steps):
            k, a = (t if save else 0), drive[t]
            torch.baddbmm(self.b_rec, h, self.w_rec, out=recurrent)
            torch.sigmoid(torch.add(a[..., : 2 * hidden], recurrent[..., : 2 * hidden], out=scratch), out=rz[k])
            rec_n[k].copy_(recurrent[..., 2 * hidden :])
            torch.mul(rz[k, ..., :hidden], rec_n[k], out=pre_n)
            tanh_into(torch.add(a[..., 2 * hidden :], pre_n, out=pre_n), n[k])
            h = torch.lerp(n[k], h, rz[k, ..., hidden:], out=states[t])
        return states, ((rz, n, rec_n) if save else None)

    def scan_backward(self, boundary, h0, states, saved):
        hidden, w_t = self.hidden, self.w_rec.transpose(1, 2)
        shape = (*h0.shape[:-1], hidden)
        d_drive, d_rec = h0.new_empty(*shape[:-1], 3 * hidden), h0.new_empty(*shape[:-1], 3 * hidden)
        d_w, d_b = torch.zeros_like(self.w_rec), torch.zeros_like(self.b_rec)
        ones = h0.new_ones(len(h0), 1, h0.shape[1])  # sums over trials: d_b += 1ᵀ d_rec
        g, a, b = (h0.new_zeros(shape) for _ in range(3))  # g: ∂L/∂h_t in total
        d_r, d_z, d_n = d_drive.split(hidden, -1)
        for t in reversed(range(len(states))):
            r, z = saved[0][t].split(hidden, -1)
            n, rec_n = saved[1][t], saved[2][t]
            h_prev = states[t - 1] if t else h0
            boundary.add_state(t, g)
            # d_n = g (1 − z)(1 − n²), d_r = d_n rec_n r (1 − r), d_z = g (h_prev − n) z (1 − z)
            torch.mul(times_one_minus(g, z, a), one_minus(torch.mul(n, n, out=b), b), out=d_n)
            torch.mul(torch.mul(d_n, rec_n, out=a).mul_(r), one_minus(r, b), out=d_r)
            torch.mul(torch.sub(h_prev, n, out=a).mul_(g).mul_(z), one_minus(z, b), out=d_z)
            # the recurrent term sees r ⊙ (W_n h + c_n): its gradient is d_n ⊙ r
            d_rec[..., : 2 * hidden].copy_(d_drive[..., : 2 * hidden])
            torch.mul(d_n, r, out=d_rec[..., 2 * hidden :])
            torch.baddbmm(torch.mul(g, z, out=a), d_rec, w_t, out=g)
            d_w.baddbmm_(h_prev.transpose(1, 2), d_rec)
            d_b.baddbmm_(ones, d_rec)
            boundary.drive(t, d_drive)
        return g, (d_w, d_b)


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
        # Each step writes into preallocated buffers, in few passes over memory: one
        # sigmoid over all four gates, the g gate's tanh taken as 2σ(2z) − 1 from it (as
        # in _gates). Saved per step: the gates [i, f, g, o] side by side and tanh(c).
        hidden, kept = self.hidden, (len(drive) if save else 1)
        states = h0.new_empty(len(drive), *h0.shape)
        gates = self.workspace.take(h0, kept, *h0.shape[:-1], 4 * hidden)
        tanh_cs = self.workspace.take(h0, kept, *h0.shape[:-1], hidden)
        state = h0
        for t in range(len(drive)):
            k = t if save else 0
            pre = drive[t].baddbmm_(state[..., :hidden], self.w_rec)  # the drive's buffer is scratch
            pre[..., 2 * hidden : 3 * hidden].mul_(2)
            i, f, g, o = torch.sigmoid(pre, out=gates[k]).split(hidden, -1)
            tanh_from_sigmoid_(g)
            c = states[t, ..., hidden:]
            torch.mul(f, state[..., hidden:], out=c).addcmul_(i, g)
            torch.mul(o, tanh_into(c, tanh_cs[k]), out=states[t, ..., :hidden])
            state = states[t]
        return states, ((gates, tanh_cs) if save else None)

    def scan_backward(self, boundary, h0, states, saved):
        hidden, w_t = self.hidden, self.w_rec.transpose(1, 2)
        shape = (*h0.shape[:-1], hidden)
        d_h, d_c, a = h0.new_zeros(shape), h0.new_zeros(shape), h0.new_empty(shape)
        d_drive, slopes = h0.new_empty(*shape[:-1], 4 * hidden), h0.new_empty(*shape[:-1], 4 * hidden)
        d_i, d_f, d_g, d_o = d_drive.split(hidden, -1)
        for_g = slopes[..., 2 * hidden : 3 * hidden]
        d_w = torch.zeros_like(self.w_rec)
        for t in reversed(range(len(states))):
            gates, tanh_c = saved[0][t], saved[1][t]
            i, f, g, o = gates.split(hidden, -1)
            h_prev, c_prev = (states[t - 1] if t else h0).split(hidden, -1)
            boundary.add_state(t, d_h, d_c)
            # d_c ← ∂L/∂c_t + d_c + d_h ⊙ o ⊙ (1 − tanh²c)
            d_c.addcmul_(tanh_slope_into(tanh_c, a).mul_(o), d_h)
            # ∂/∂pre of each gate: upstream factor times the gate's slope, σ' = s − s², tanh' = 1 − g²
            torch.mul(d_c, g, out=d_i)
            torch.mul(d_c, c_prev, out=d_f)
            torch.mul(d_c, i, out=d_g)
            torch.mul(d_h, tanh_c, out=d_o)
            logistic_slope_into(gates, slopes)
            tanh_slope_into(g, for_g)
            d_drive.mul_(slopes)
            d_c.mul_(f)
            torch.bmm(d_drive, w_t, out=d_h)
            d_w.baddbmm_(h_prev.transpose(1, 2), d_drive)
            boundary.drive(t, d_drive)
        return torch.cat([d_h, d_c], -1), (d_w,)


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
        # each step writes into preallocated buffers; the operations (and so the bits)
        # are those of _gates. Saved per step: the candidate c and the gate.
        hidden, steps = self.hidden, len(drive)
        states = h0.new_empty(steps, *h0.shape)
        candidates, gates = (self.workspace.take(h0, steps if save else 1, *h0.shape) for _ in range(2))
        pre = h0.new_empty(*h0.shape[:-1], 2 * hidden)
        h = h0
        for t in range(steps):
            k = t if save else 0
            torch.baddbmm(drive[t], h, self.w_rec, out=pre)
            tanh_into(pre[..., :hidden], candidates[k])
            torch.sigmoid(pre[..., hidden:], out=gates[k])
            h = torch.lerp(candidates[k], h, gates[k], out=states[t])
        return states, ((candidates, gates) if save else None)

    def scan_backward(self, boundary, h0, states, saved):
        hidden, w_t = self.hidden, self.w_rec.transpose(1, 2)
        d_drive = h0.new_empty(*h0.shape[:-1], 2 * hidden)
        d_candidate, d_gate = d_drive.split(hidden, -1)
        d_w = torch.zeros_like(self.w_rec)
        g, a, b = (torch.zeros_like(h0) for _ in range(3))  # g: ∂L/∂h_t in total
        for t in reversed(range(len(states))):
            candidate, gate = saved[0][t], saved[1][t]
            h_prev = states[t - 1] if t else h0
            boundary.add_state(t, g)
            # d_candidate = g (1 − gate)(1 − c²), d_gate = g (h_prev − c) gate (1 − gate)
            torch.mul(times_one_minus(g, gate, a), one_minus(torch.mul(candidate, candidate, out=b), b),
                      out=d_candidate)
            torch.mul(torch.sub(h_prev, candidate, out=a).mul_(g), times_one_minus(gate, gate, b), out=d_gate)
            torch.baddbmm(torch.mul(g, gate, out=a), d_drive, w_t, out=g)
            d_w.baddbmm_(h_prev.transpose(1, 2), d_drive)
            boundary.drive(t, d_drive)
        return g, (d_w,)
