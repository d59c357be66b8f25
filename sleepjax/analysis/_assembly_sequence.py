"""Sequences of cell assemblies: group-to-group weights and recall by a cued
run of the network."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..dynamics import AbstractDynamics


def group_weights(
    W: Float[Array, "n n"], groups: Float[Array, "G n"]
) -> Float[Array, "G G"]:
    r"""Mean weight from group l to group k,
    $\bar W_{kl} = \frac{1}{|g_k||g_l|} \sum_{i \in g_k, j \in g_l} W_{ij}$,
    for {0, 1} group indicators `groups` (rows; each non-empty)."""
    size = jnp.sum(groups, axis=1)
    return groups @ W @ groups.T / (size[:, None] * size[None, :])


def chain_weights(
    Wg: Float[Array, "G G"], orders: Int[Array, "S K"]
) -> Float[Array, " S1"]:
    r"""From group weights $\bar W$: for each sequence s (a row of group
    indices), the mean forward weight $\frac{1}{K-1}\sum_k \bar W_{o_{k+1} o_k}$;
    last, the mean weight between groups that are not neighbours in any
    sequence and not the same group (the background). Shape `(S + 1,)`."""
    G = Wg.shape[0]
    fwd = jnp.mean(Wg[orders[:, 1:], orders[:, :-1]], axis=1)
    near = jnp.eye(G, dtype=bool)
    near = near.at[orders[:, 1:], orders[:, :-1]].set(True)
    near = near.at[orders[:, :-1], orders[:, 1:]].set(True)
    far = ~near
    background = jnp.sum(jnp.where(far, Wg, 0.0)) / jnp.maximum(jnp.sum(far), 1)
    return jnp.concatenate([fwd, background[None]])


def cued_recall(
    dynamics: AbstractDynamics,
    W: Float[Array, "n n"],
    groups: Float[Array, "G n"],
    order: Int[Array, " K"],
    *,
    drive: float,
    cue: float,
    duration: float,
    dt: float,
    threshold: float = 0.2,
) -> Float[Array, ""]:
    r"""Recall of a sequence of assemblies by a cued run.

    From the dynamics' rest state (`dynamics.init()`), the first group of
    `order` is driven with amplitude `drive` for `cue` time units; the network
    then runs freely (forward Euler, step `dt`, no noise, W fixed) until
    `duration`. Each group's activity is its mean rate. The score is the
    fraction of the K − 1 consecutive pairs (o_k, o_{k+1}) that both reach
    `threshold` and peak in order (o_k's peak strictly before o_{k+1}'s):
    1 when the cue replays the whole sequence, 0 when nothing propagates.
    """
    n_steps = int(round(duration / dt))
    n_cue = int(round(cue / dt))
    size = jnp.sum(groups, axis=1)
    pulse = drive * groups[order[0]]

    def step(x, k):
        inp = jnp.where(k < n_cue, pulse, 0.0)
        x = x + dt * dynamics.drift(0.0, x, W, inp)
        return x, groups @ dynamics.activity(x).phi / size

    _, act = jax.lax.scan(step, dynamics.init(), jnp.arange(n_steps))
    peak, top = jnp.argmax(act, axis=0), jnp.max(act, axis=0)
    a, b = order[:-1], order[1:]
    ok = (peak[b] > peak[a]) & (top[a] > threshold) & (top[b] > threshold)
    return jnp.mean(ok.astype(act.dtype))


def replay_transitions(
    activity: Float[Array, "T G"],
    orders: Int[Array, "S K"],
    threshold: float = 0.2,
) -> Int[Array, " S1"]:
    r"""Sequential replay in a record of group activity (e.g. mean rate per
    assembly, sampled every 0.5 τ of a night).

    At each sample the dominant group is the most active one when its
    activity exceeds `threshold` (else none). An episode starts where the
    dominant group differs from the previous sample's (a sample with none
    in between starts a new episode even for the same group). Consecutive
    episodes form transitions a → b.

    **Returns:** shape `(S + 1,)`: for each sequence (a row of group
    indices), the number of transitions that step forward along it
    (o_k → o_{k+1}); last, the total number of transitions. With G groups
    and no structure, a K-element sequence's share is about
    (K − 1)/(G(G − 1)) of the transitions between different groups.
    """
    G = activity.shape[1]
    dom = jnp.where(
        jnp.max(activity, axis=1) > threshold, jnp.argmax(activity, axis=1), -1
    )
    prev = jnp.concatenate([jnp.array([-1]), dom[:-1]])
    start = (dom >= 0) & (dom != prev)
    nxt = jnp.zeros((orders.shape[0], G, G), bool)
    s = jnp.arange(orders.shape[0])[:, None]
    nxt = nxt.at[s, orders[:, :-1], orders[:, 1:]].set(True)

    def step(carry, x):
        last, counts = carry
        d, st = x
        valid = st & (last >= 0)
        fwd = valid & nxt[:, jnp.maximum(last, 0), jnp.maximum(d, 0)]
        counts = counts + jnp.concatenate([fwd, valid[None]]).astype(counts.dtype)
        return (jnp.where(st, d, last), counts), None

    init = (jnp.array(-1), jnp.zeros(orders.shape[0] + 1, jnp.int32))
    (_, counts), _ = jax.lax.scan(step, init, (dom, start))
    return counts
