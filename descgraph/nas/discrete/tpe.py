"""Tree-structured Parzen Estimator search (Bergstra, Bardenet, Bengio and Kégl, "Algorithms for Hyper-Parameter
Optimization", NeurIPS 2011) through Optuna's `TPESampler` (Akiba et al., "Optuna: A Next-generation
Hyperparameter Optimization Framework", KDD 2019; Watanabe, "Tree-Structured Parzen Estimator: Understanding Its
Algorithm Components and Their Roles for Better Empirical Performance", 2023, is Optuna's reference).

TPE splits the results so far into the best fraction and the rest, fits a Parzen estimator (for categorical
choices, a smoothed histogram around each result) to each, and proposes the candidate, of a few drawn from the
first, that maximizes the ratio of the two densities: the expected improvement of the paper's sec. 4.1.

Each decision of the space's code is a categorical parameter `d0`, `d1`, ... of an in-memory Optuna study that
maximizes the result; `propose` asks the study for a trial, `feedback` tells that trial its result. Optuna is an
optional extra, imported when a search starts.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from descgraph.errors import DescgraphError
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.spaces import ConstrainedSpace
from descgraph.nas.discrete.strategy import (
    SearchStrategy,
    Trial,
    check_choice,
    check_flags,
    check_whole,
    register_strategy,
)

#: how an asked code that is not an architecture of the space is told: pruned with a constraint value, or failed
INFEASIBLE = ("constraint", "fail")
#: the user attribute holding a trial's constraint value (> 0: infeasible), read by the sampler's constraints_func
CONSTRAINT_ATTR = "constraint"


@register_strategy("tpe")
class TPE(SearchStrategy):
    """Bayesian optimisation by Optuna's TPE sampler, one categorical parameter per decision, asked and told.

    The first `n_startup_trials` trials are Optuna's random draws, or, with a warm start, the first `n_warm`
    proposals are the warm start's best architectures (`draw_initial`), enqueued as fixed trials. A window of
    proposals is several trials asked at once, and each result is told to its own trial (the first waiting
    trial of that code); `constant_liar` makes the sampler count the waiting trials as bad ones, so that a
    window spreads out.

    An asked code that is not an architecture of the space (outside a `ConstrainedSpace`'s bounds, a DARTS
    node reading one state twice) is told at once and asked again. `infeasible="constraint"`: it is pruned with
    a constraint value, how far over its bound its tightest cost is (1 when it breaks the space itself), and
    the sampler ranks such trials below every feasible one and learns where the bound runs; `"fail"`: it is
    failed, and the sampler forgets it. After `max_asks` such asks in a row the proposal is a uniform draw of
    the space, enqueued as a fixed trial. All of it follows from the seed, so replaying the history rebuilds
    the study.

    The defaults are tuned on the NAS-Bench-201 table at 100 queries (seeds 1000 and above).

    Args:
        n_startup_trials: random trials before TPE models the results (Optuna's `n_startup_trials`).
        n_ei_candidates: candidates drawn per proposal from the good results' estimator, the one of the highest
            expected improvement proposed.
        multivariate: one joint Parzen estimator over all decisions (Falkner, Klein and Hutter, "BOHB", ICML
            2018) instead of one per decision (the paper's).
        constant_liar: count the trials waiting for their results as bad ones (Optuna's `constant_liar`).
        infeasible: `constraint` or `fail`: how an asked code outside the space is told.
        n_warm: with a warm start, proposals taken from it (None: `n_startup_trials`).
        max_asks: infeasible asks in a row before a uniform draw of the space is proposed instead.
    """

    def __init__(
        self,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool = True,
        constant_liar: bool = True,
        infeasible: str = "constraint",
        n_warm: int | None = None,
        max_asks: int = 100,
    ) -> None:
        check_whole("tpe", 0, n_startup_trials=n_startup_trials, n_warm=n_startup_trials if n_warm is None else n_warm)
        check_whole("tpe", 1, n_ei_candidates=n_ei_candidates, max_asks=max_asks)
        check_flags("tpe", multivariate=multivariate, constant_liar=constant_liar)
        check_choice("tpe", "infeasible", infeasible, INFEASIBLE)
        self.n_startup_trials, self.n_ei_candidates = n_startup_trials, n_ei_candidates
        self.multivariate, self.constant_liar, self.infeasible = multivariate, constant_liar, infeasible
        self.n_warm = n_startup_trials if n_warm is None else n_warm
        self.max_asks = max_asks

    def _setup(self) -> None:
        try:
            import optuna
        except ImportError:
            raise DescgraphError("strategy 'tpe' needs Optuna: pip install \"descgraph[optuna]\"") from None
        self._optuna = optuna
        self._choices = [list(range(len(d))) for d in self.space.decisions()]
        self._pending: list[tuple[Any, Code]] = []  # asked trials waiting for their results, in proposal order
        self._warm_drawn = 0
        with self._quiet():
            sampler = optuna.samplers.TPESampler(
                n_startup_trials=self.n_startup_trials,
                n_ei_candidates=self.n_ei_candidates,
                multivariate=self.multivariate,
                constant_liar=self.constant_liar,
                seed=self.seed % 2**32,  # numpy's seeds are 32-bit
                constraints_func=_stored_constraint,  # deprecated in Optuna 5 for Trial.set_constraint, new there
            )
            self.study = optuna.create_study(direction="maximize", sampler=sampler)

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Optuna without its log lines (each trial told) and warnings (experimental and deprecated arguments)."""
        logging = self._optuna.logging
        verbosity = logging.get_verbosity()
        logging.set_verbosity(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
                warnings.simplefilter("ignore", FutureWarning)
                yield
        finally:
            logging.set_verbosity(verbosity)

    # --- proposals --------------------------------------------------------------------------------
    def _propose(self) -> Code:
        with self._quiet():
            if self.warm_start is not None and self._warm_drawn < self.n_warm:
                self._warm_drawn += 1
                return self._ask_fixed(self.draw_initial())
            for _ in range(self.max_asks):
                trial, code = self._ask()
                if self.space.is_valid(code):
                    self._pending.append((trial, code))
                    return code
                self._tell_infeasible(trial, code)
            return self._ask_fixed(self.space.sample(self.rng))

    def _ask(self) -> tuple[Any, Code]:
        """A new trial of the study and the code it suggests."""
        trial = self.study.ask()
        return trial, tuple(trial.suggest_categorical(f"d{i}", choices) for i, choices in enumerate(self._choices))

    def _ask_fixed(self, code: Code) -> Code:
        """Ask a trial fixed to `code` (enqueued first), waiting for its result."""
        self.study.enqueue_trial({f"d{i}": int(c) for i, c in enumerate(code)})
        trial, asked = self._ask()
        self._pending.append((trial, asked))
        return asked

    def _tell_infeasible(self, trial: Any, code: Code) -> None:
        """Tell an asked code outside the space: pruned with its constraint value, or failed."""
        trial.set_user_attr(CONSTRAINT_ATTR, self._violation(code))
        state = self._optuna.trial.TrialState
        self.study.tell(trial, state=state.PRUNED if self.infeasible == "constraint" else state.FAIL)

    def _violation(self, code: Code) -> float:
        """0 for an architecture of the space; else how far over its bound the tightest cost is (a
        `ConstrainedSpace`'s, when the code is an architecture of the space it narrows), or 1."""
        if self.space.is_valid(code):
            return 0.0
        if isinstance(self.space, ConstrainedSpace) and self.space.space.is_valid(code):
            return self.space.load(code) - 1.0
        return 1.0

    # --- results ------------------------------------------------------------------------------------
    def _feedback(self, trial: Trial) -> None:
        for i, (asked, code) in enumerate(self._pending):
            if code == trial.code:
                del self._pending[i]
                asked.set_user_attr(CONSTRAINT_ATTR, 0.0)
                with self._quiet():
                    self.study.tell(asked, trial.result)
                return
        raise DescgraphError(f"tpe: a result for {list(trial.code)}, which is not among its pending proposals")


def _stored_constraint(trial: Any) -> list[float]:
    """A finished trial's constraint values, as `TPESampler(constraints_func=...)` reads them."""
    return [trial.user_attrs[CONSTRAINT_ATTR]]
