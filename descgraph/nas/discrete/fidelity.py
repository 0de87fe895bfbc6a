"""Multi-fidelity schedules over candidates' training epochs: successive halving (Jamieson and Talwalkar,
"Non-stochastic Best Arm Identification and Hyperparameter Optimization", AISTATS 2016) and Hyperband (Li,
Jamieson, DeSalvo, Rostamizadeh and Talwalkar, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
Optimization", JMLR 2018), as arithmetic: the rungs, the brackets, the promotions, the pick.

Rungs are epochs: r_k = min_epochs * eta^k for k < K, and r_K = max_epochs, where K = floor(log_eta(max_epochs /
min_epochs)) is Hyperband's s_max (the last rung is max_epochs, in place of min_epochs * eta^K when max_epochs is
not on that ladder). A bracket of n candidates starting at rung f trains them all to r_f, keeps the top
floor(n/eta) (at least one) and trains those on to r_{f+1}, and so on to the last rung. Successive halving repeats
Hyperband's most exploratory bracket (s = K: eta^K candidates from rung 0); Hyperband cycles through its brackets
s = K, K-1, ..., 0 (Algorithm 1: n = ceil((K+1) eta^s / (s+1)) candidates from rung K - s). A search spends its
budget of distinct candidates bracket after bracket, each bracket one window of proposals of the search loop; the
budget cuts the last one short.

Torch-free: the searcher that trains the candidates supplies the training of a rung.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.strategy import Trial

#: the schedules; "none" trains every candidate the full epochs
SCHEDULES = ("none", "successive_halving", "hyperband")

C = TypeVar("C", bound=Hashable)


def rung_epochs(min_epochs: int, eta: int, max_epochs: int) -> list[int]:
    """The rungs' epochs: min_epochs * eta^k while the next one still fits under max_epochs, the last max_epochs.

    >>> rung_epochs(1, 3, 81), rung_epochs(1, 3, 10), rung_epochs(2, 2, 2)
    ([1, 3, 9, 27, 81], [1, 3, 10], [2])
    """
    if eta < 2 or min_epochs < 1 or min_epochs > max_epochs:
        raise DescgraphError(
            f"rungs: eta {eta}, min_epochs {min_epochs}, max_epochs {max_epochs}: need eta >= 2 and "
            "1 <= min_epochs <= max_epochs"
        )
    rungs = [min_epochs]
    while rungs[-1] * eta <= max_epochs:
        rungs.append(rungs[-1] * eta)
    rungs[-1] = max_epochs
    return rungs


def stage_sizes(n: int, stages: int, eta: int) -> list[int]:
    """Candidates at each of a bracket's `stages` rungs: n, then floor(n_i / eta) of the previous, at least one
    (Li et al. 2018, Algorithm 1: n_i = floor(n eta^-i), since floor(floor(n/a)/b) = floor(n/(ab)))."""
    sizes = [n]
    for _ in range(stages - 1):
        sizes.append(max(1, sizes[-1] // eta))
    return sizes


def promote(scores: Sequence[float], keep: int) -> list[int]:
    """The positions of the `keep` best scores (higher is better; a tie goes to the earlier position), in order."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(ranked[:keep])


@dataclass(frozen=True)
class Bracket:
    """One bracket of successive halving.

    Attributes:
        s: Hyperband's bracket index (its candidates start s rungs below the last).
        first_rung: the rung its candidates start at (K - s).
        size: its candidates (n in Li et al. 2018, Algorithm 1), before the budget cuts it.
    """

    s: int
    first_rung: int
    size: int


class FidelitySchedule:
    """The rungs and brackets of `schedule` ("successive_halving" or "hyperband") over epochs.

    Args:
        schedule: the schedule's name.
        min_epochs: the first rung's epochs.
        eta: the reduction factor: each rung keeps 1/eta of its candidates for about eta times the epochs.
        max_epochs: the last rung's epochs (the candidates' `trainer.epochs`, over which their schedule runs).
    """

    def __init__(self, schedule: str, min_epochs: int, eta: int, max_epochs: int) -> None:
        if schedule not in SCHEDULES[1:]:
            raise DescgraphError(f"fidelity schedule {schedule!r}: expected one of {', '.join(SCHEDULES[1:])}")
        self.schedule, self.eta = schedule, eta
        self.rungs = rung_epochs(min_epochs, eta, max_epochs)
        self.s_max = len(self.rungs) - 1

    def brackets(self) -> list[Bracket]:
        """One round of the schedule: Hyperband's brackets s = s_max..0, or successive halving's one (s = s_max)."""
        top = self.s_max
        if self.schedule == "successive_halving":
            return [Bracket(top, 0, self.eta**top)]
        # Li et al. 2018, Algorithm 1: n = ceil((s_max + 1) / (s + 1) * eta^s), r = R eta^-s (rung s_max - s)
        return [Bracket(s, top - s, _ceil_div((top + 1) * self.eta**s, s + 1)) for s in range(top, -1, -1)]

    def bracket(self, window: int) -> Bracket:
        """The bracket of the search loop's `window`-th window (0-based): the round's brackets, over and over."""
        round_ = self.brackets()
        return round_[window % len(round_)]

    def window(self, index: int) -> int:
        """Proposals in the `index`-th window: its bracket's candidates."""
        return self.bracket(index).size

    def sizes(self, bracket: Bracket, n: int | None = None) -> list[tuple[int, int]]:
        """(candidates, epochs) at each rung of `bracket` started with `n` candidates (its size by default)."""
        epochs = self.rungs[bracket.first_rung :]
        return list(zip(stage_sizes(bracket.size if n is None else n, len(epochs), self.eta), epochs))

    def run_bracket(
        self,
        bracket: Bracket,
        codes: Sequence[C],
        train_rung: Callable[[int, list[C]], list[float]],
        on_leave: Callable[[list[C]], None] | None = None,
    ) -> dict[C, int]:
        """Successive halving of `codes` from the bracket's first rung: `train_rung(rung, codes)` trains every code
        to that rung's epochs and gives their scores (a complete rung: promotions never wait on part of one);
        the best floor(n/eta) (at least one) go on to the next rung.

        Args:
            bracket: where the codes start.
            codes: the bracket's candidates, in proposal order.
            train_rung: (rung, codes) -> each code's score at that rung.
            on_leave: called with the codes that leave the bracket after each rung (not promoted, or done).

        Returns:
            The last rung each code reached.
        """
        alive, reached = list(codes), {}
        for rung in range(bracket.first_rung, len(self.rungs)):
            if not alive:
                break
            scores = train_rung(rung, alive)
            reached.update((code, rung) for code in alive)
            kept = promote(scores, max(1, len(alive) // self.eta)) if rung < self.s_max else []
            left = [code for i, code in enumerate(alive) if i not in kept]
            alive = [alive[i] for i in kept]
            if on_leave is not None:
                on_leave(left)
        return reached


def pick(history: Sequence[Trial]) -> Trial | None:
    """The search's pick: the best result among the trials of the most epochs (a repeat counts its code's first
    trial's `epochs`); ties go to the earliest. A score after a few epochs never beats one after more by noise:
    the candidates compared were trained alike. Without `epochs` in any trial, the best result (`best()`'s rule)."""
    epochs: dict[Any, int] = {}
    for trial in history:
        if trial.extra and "epochs" in trial.extra:
            epochs.setdefault(trial.code, int(trial.extra["epochs"]))
    return max(history, key=lambda t: (epochs.get(t.code, 0), t.result), default=None)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)
