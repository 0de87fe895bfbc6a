"""The search-strategy interface: `setup(space)`, `propose()`, `feedback(code, result)`.

A strategy is driven by a loop that asks it for a code, evaluates the architecture, and tells it
the result (higher is better). Everything a strategy learns comes through `feedback`, and all its
randomness from the seed given to `setup`, so replaying its history (`replay`) rebuilds its state:
that is how a search resumes.

Every strategy that starts from random architectures can be *warm-started* by a zero-cost proxy
(`warm_start: {proxy: synflow, pool: 1000}`, as NASLib's zero-cost warm start: Abdelfattah et al.,
"Zero-cost proxies for lightweight NAS", ICLR 2021, sec. 5): a pool of distinct random
architectures is ranked by the proxy before the first query, and the strategy's initial draws
(`draw_initial`) take the pool's best first.
"""

from __future__ import annotations

import inspect
import random
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from descgraph._registry import Registry, close_matches
from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code, SearchSpace

STRATEGIES: Registry[type[SearchStrategy]] = Registry("search strategy")

#: scores codes by a named zero-cost proxy: (proxy name, codes) -> one score per code, higher is better
ProxyScorer = Callable[[str, Sequence[Code]], Sequence[float]]


def register_strategy(name: str):
    """Decorator registering a SearchStrategy subclass under `name`."""
    return STRATEGIES.register(name)


@dataclass
class Trial:
    """One evaluated architecture: its code, its result (higher is better) and any extra numbers."""

    code: Code
    result: float
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class WarmStart:
    """Rank `pool` distinct random architectures by `proxy` before the first query; the strategy's initial
    draws take them best first.

    Attributes:
        proxy: a zero-cost proxy's registered name (`descgraph.nas.proxies`).
        pool: architectures ranked.
    """

    proxy: str
    pool: int = 1000

    @classmethod
    def parse(cls, value: Any, where: str = "warm_start") -> WarmStart | None:
        """A `{proxy: NAME, pool: N}` mapping (or None) as a WarmStart; a DescgraphError naming the key."""
        if value is None or isinstance(value, WarmStart):
            return value
        if not isinstance(value, dict) or "proxy" not in value or set(value) - {"proxy", "pool"}:
            raise DescgraphError(f"{where}: {value!r}; expected {{proxy: NAME, pool: N}}")
        proxy, pool = value["proxy"], value.get("pool", 1000)
        if not isinstance(proxy, str) or not proxy:
            raise DescgraphError(f"{where}.proxy: {proxy!r}; expected a proxy's name (synflow, naswot, ...)")
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise DescgraphError(f"{where}.pool: {pool!r}; expected a whole number >= 1")
        return cls(proxy, pool)


class SearchStrategy(ABC):
    """Proposes architectures of a space and learns from their results.

    Subclasses implement `_propose` and may extend `_feedback`; the public methods keep the history.
    A subclass that draws random architectures to begin with draws them with `draw_initial`, so that a
    warm start takes their place; one that cannot be warm-started sets `warm_startable = False`.
    """

    #: whether `warm_start` applies (the strategy draws its initial architectures with `draw_initial`)
    warm_startable: bool = True
    #: set by `get_strategy` from the `warm_start` parameter
    warm_start: WarmStart | None = None

    def setup(self, space: SearchSpace, seed: int = 0, proxy: ProxyScorer | None = None) -> None:
        """Start a search of `space`; all randomness comes from `seed`.

        Args:
            space: the space.
            seed: the seed of every random draw.
            proxy: scores codes by a zero-cost proxy; needed by a warm start (and used by nothing else).

        Raises:
            DescgraphError: a warm start without a proxy scorer, or with a pool larger than the space.
        """
        self.space, self.seed = space, seed
        self.rng = random.Random(seed)
        self.history: list[Trial] = []
        self._warm: deque[Code] = deque()
        if self.warm_start is not None:
            self._warm = deque(self._rank_pool(self.warm_start, proxy))
        self._setup()

    def _rank_pool(self, warm: WarmStart, proxy: ProxyScorer | None) -> list[Code]:
        """The warm start's pool, drawn from its own seeded generator (so the strategy's draws stay as they
        are), best first by the proxy; ties keep the order drawn."""
        if proxy is None:
            raise DescgraphError(f"warm_start: proxy {warm.proxy!r}: this search has no proxy scorer")
        if warm.pool > self.space.size():
            raise DescgraphError(
                f"warm_start.pool: {warm.pool} is more than the {self.space.size()} architectures of the space"
            )
        rng, pool, seen = random.Random(f"warm start {self.seed}"), [], set()
        for _ in range(100 * warm.pool):
            if len(pool) == warm.pool:
                break
            code = self.space.canonical(self.space.sample(rng))
            if code not in seen:
                seen.add(code)
                pool.append(code)
        scores = [float(s) for s in proxy(warm.proxy, pool)]
        if len(scores) != len(pool):
            raise DescgraphError(f"warm_start: the proxy scored {len(scores)} of {len(pool)} architectures")
        order = sorted(range(len(pool)), key=lambda i: (-scores[i] if scores[i] == scores[i] else float("inf"), i))
        return [pool[i] for i in order]

    def draw_initial(self, draw: Callable[[], Code] | None = None, bound_draws: int = 1) -> Code:
        """An architecture to begin with: the best of the warm start's pool not yet proposed, else `draw()`
        (a uniform sample of the space by default); under cost bounds the costliest of `bound_draws` draws
        (`SearchSpace.near_bound`: the best architectures under a bound sit near it; one draw without bounds)."""
        proposed = {t.code for t in self.history}
        while self._warm:
            code = self._warm.popleft()
            if code not in proposed:
                return code
        draw = draw or (lambda: self.space.sample(self.rng))
        return draw() if bound_draws == 1 else self.space.near_bound(draw, bound_draws)

    def propose(self) -> Code:
        """The next architecture to evaluate."""
        return self._propose()

    def feedback(self, code: Code, result: float, extra: dict[str, Any] | None = None) -> None:
        """The result of evaluating `code` (higher is better)."""
        trial = Trial(tuple(code), float(result), extra)
        self.history.append(trial)
        self._feedback(trial)

    def replay(self, history: list[Trial]) -> None:
        """Rebuild the state after `history` (a resumed search): propose and feed each trial again."""
        for trial in history:
            self.propose()
            self.feedback(trial.code, trial.result, trial.extra)

    def results(self) -> dict[Code, float]:
        """Each distinct code proposed so far and its first result, in the order first proposed."""
        out: dict[Code, float] = {}
        for trial in self.history:
            out.setdefault(trial.code, trial.result)
        return out

    def best(self) -> Trial | None:
        """The best trial so far."""
        return max(self.history, key=lambda t: t.result, default=None)

    def can_propose(self, pending: int) -> bool:
        """Whether the next proposal can be made while `pending` proposals wait for their results (a window)."""
        return True

    def done(self) -> bool:
        """Whether the strategy has ended its search (a generation count reached); the loop then stops."""
        return False

    # --- what a strategy implements -------------------------------------------------------------
    def _setup(self) -> None:
        """Initialize the strategy's own state (after `space`, `rng` and `history` are set)."""
        return None

    @abstractmethod
    def _propose(self) -> Code:
        """The next code."""

    def _feedback(self, trial: Trial) -> None:
        """Learn from one trial (already appended to `history`)."""
        return None


def check_whole(strategy: str, low: int = 1, **values: Any) -> None:
    """Each of `values` a whole number >= `low` (not a bool), or a DescgraphError naming the strategy and parameter."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise DescgraphError(f"{strategy}: {name} {value!r}: must be a whole number >= {low}")


def check_flags(strategy: str, **values: Any) -> None:
    """Each of `values` true or false, or a DescgraphError naming the strategy and parameter."""
    for name, value in values.items():
        if not isinstance(value, bool):
            raise DescgraphError(f"{strategy}: {name} {value!r}: must be true or false")


def check_choice(strategy: str, name: str, value: Any, choices: Sequence[str]) -> None:
    """`value` one of `choices`, or a DescgraphError naming the strategy, the parameter and the choices."""
    if value not in choices:
        raise DescgraphError(f"{strategy}: {name} {value!r}: must be one of {', '.join(choices)}")


def get_strategy(name: str, **kwargs: Any) -> SearchStrategy:
    """A new strategy by registered name, its keyword arguments passed to the class.

    Raises:
        DescgraphError: an unknown name, or a keyword the strategy does not take (naming the ones it does).
    """
    cls = STRATEGIES.get(name)
    known = strategy_params(name)
    for key in kwargs:
        if key not in known:
            hint = close_matches(key, list(known)) or f" (it takes: {', '.join(known) or 'nothing'})"
            raise DescgraphError(f"strategy {name!r}: unknown parameter {key!r}{hint}")
    kwargs = dict(kwargs)
    warm = WarmStart.parse(kwargs.pop("warm_start", None), f"strategy {name!r}: warm_start")
    strategy = cls(**kwargs)
    strategy.warm_start = warm
    return strategy


def strategy_params(name: str) -> dict[str, Any]:
    """The keyword parameters of a registered strategy and their defaults (`warm_start` for every strategy
    that can be warm-started)."""
    cls = STRATEGIES.get(name)
    signature = inspect.signature(cls.__init__)
    params = {
        p.name: p.default
        for p in list(signature.parameters.values())[1:]
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }
    if cls.warm_startable:
        params["warm_start"] = None
    return params
