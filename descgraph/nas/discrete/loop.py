"""The search loop every discrete search runs, and the trial log that lets it resume.

The loop asks a strategy for a code, evaluates it (a table lookup, a training run) unless it is known,
and feeds the result back; a repeated code reuses its result and costs nothing, so the budget counts
distinct architectures. Each trial can be written as a JSON line; reading the lines back and replaying
them rebuilds the strategy, and the search goes on where it stopped.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from descgraph._files import atomic_write_text
from descgraph._json import json_text
from descgraph._ranks import is_main
from descgraph.errors import ConfError, DataError
from descgraph.nas.discrete.random_search import SpaceExhausted
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, Trial
from descgraph.nas.executor import Result, TrialExecutor, TrialFailed, as_executor
from descgraph.train.distributed import barrier

Evaluate = Callable[[Code], tuple[float, dict[str, Any]]]
#: (executor, window index, the window's new codes, those of them to evaluate) -> the latter's results
EvaluateWindow = Callable[[TrialExecutor, int, list[Code], list[Code]], dict[Code, Result]]


def evaluate_fresh(executor: TrialExecutor, index: int, new: list[Code], fresh: list[Code]) -> dict[Code, Result]:
    """How a window is evaluated unless the search says otherwise: each code to evaluate once, by the executor."""
    return dict(zip(fresh, executor.map(fresh)))


def search_loop(
    strategy: SearchStrategy,
    evaluate: Evaluate | TrialExecutor,
    budget: int | None,
    max_proposals: int | None = None,
    known: dict[Code, float] | None = None,
    on_trial: Callable[[Trial, bool], None] | None = None,
    *,
    window: int | Callable[[int], int] = 1,
    evaluate_window: EvaluateWindow = evaluate_fresh,
    replay: list[dict[str, Any]] | None = None,
    replay_source: str = "trial log",
    time_limit_s: float = 0.0,
    stop_on_interrupt: bool = False,
    on_stop: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[Code, float]:
    """Propose and evaluate until `budget` distinct codes are known, the strategy has proposed
    `max_proposals` times (its history counts), it has nothing new to propose, or it is `done()`.

    The strategy proposes a window of up to `window` codes before any of them is fed back; the window's
    new codes are evaluated together (by an executor: in this process or on workers) and fed back in
    the order proposed, so the history depends on `window`, never on how many workers evaluate it.

    Args:
        strategy: a strategy set up (and replayed, when resuming with window 1).
        evaluate: code -> (result, extra numbers), or an executor of windows; called once per distinct code.
        budget: distinct codes to evaluate, those in `known` included; None: no limit (the strategy ends
            the search through `done()` or `max_proposals`).
        max_proposals: proposals in all, repeats included (10 x budget by default, no limit without a
            budget): a strategy that has converged to known codes ends.
        known: results already known (a resumed search's); updated in place.
        on_trial: called with each trial and whether it was evaluated (False: a repeat); not for replayed ones.
        window: codes proposed ahead of their results (the strategy may propose fewer: `can_propose`), or
            the window's index (0-based, replayed windows counted) -> that window's size.
        evaluate_window: (executor, window index, the window's new codes (not known before it, once each, in
            proposal order), those of them not replayed from the log) -> the results of the latter; it may
            raise TrialFailed with a position in that last list. By default the executor maps those codes;
            a schedule that decides over the whole window (successive halving) sees the replayed ones too.
        replay: trial records of an earlier run of the same search (its trial log): the first proposals are
            checked against them and fed back their logged results, in the same windows, then the search
            goes on; trials that were in flight at a kill are proposed and evaluated again.
        replay_source: where the records come from, for messages.
        time_limit_s: stop before the next window once this many seconds have passed (0: no limit).
        stop_on_interrupt: a Ctrl-C (KeyboardInterrupt) during a proposal or an evaluation ends the loop,
            keeping every trial fed back before it, instead of propagating.
        on_stop: called once with why the loop ended: "budget", "proposals", "exhausted", "done",
            "time limit" or "interrupted".
        clock: seconds, for the time limit.

    Returns:
        Every known code's result.

    Raises:
        ConfError: the strategy proposes something else than a replayed record (names the line).
        TrialFailed: a trial's worker died more often than allowed (names the trial).
    """
    executor, records = as_executor(evaluate), replay or []
    known = {} if known is None else known
    cap = max_proposals if max_proposals is not None else (10 * budget if budget is not None else None)
    deadline = clock() + time_limit_s if time_limit_s > 0 else None
    stopped, index = "budget", 0
    try:
        while True:
            stopped = _why_stop(strategy, len(known), budget, cap, deadline is not None and clock() > deadline)
            if stopped:
                break
            size = window if isinstance(window, int) else window(index)
            codes = _propose_window(strategy, size, known, budget, cap)
            if not codes:
                stopped = "exhausted"
                break
            evaluate = functools.partial(evaluate_window, executor, index)
            for trial, is_new, replayed in _evaluate_window(strategy, evaluate, codes, known, records, replay_source):
                if on_trial is not None and not replayed:
                    on_trial(trial, is_new)
            index += 1
    except KeyboardInterrupt:
        if not stop_on_interrupt:
            raise
        stopped = "interrupted"
    if on_stop is not None:
        on_stop(stopped)
    return known


def _why_stop(strategy: SearchStrategy, n_known: int, budget: int | None, cap: int | None, late: bool) -> str:
    """Why the loop ends before its next window ('' : it goes on)."""
    if budget is not None and n_known >= budget:
        return "budget"
    if cap is not None and len(strategy.history) >= cap:
        return "proposals"
    if strategy.done():
        return "done"
    return "time limit" if late else ""


def _propose_window(
    strategy: SearchStrategy, window: int, known: dict[Code, float], budget: int | None, cap: int | None
) -> list[Code]:
    """Up to `window` proposals, fewer where the budget, the cap, the strategy (`can_propose`) or the space
    (exhausted) ends them first."""
    codes: list[Code] = []
    fresh: set[Code] = set()
    while len(codes) < window and strategy.can_propose(len(codes)):
        if budget is not None and len(known) + len(fresh) >= budget:
            break
        if cap is not None and len(strategy.history) + len(codes) >= cap:
            break
        try:
            code = strategy.propose()
        except SpaceExhausted:
            break
        codes.append(code)
        if code not in known:
            fresh.add(code)
    return codes


def _evaluate_window(
    strategy: SearchStrategy,
    evaluate: Callable[[list[Code], list[Code]], dict[Code, Result]],
    codes: list[Code],
    known: dict[Code, float],
    records: list[dict[str, Any]],
    source: str,
) -> Iterator[tuple[Trial, bool, bool]]:
    """Evaluate the window's new codes (those past the replayed records) together, then feed every code back
    in proposal order; yields (trial, whether new, whether replayed)."""
    start = len(strategy.history)
    logged = [_replayed(records, start + pos, code, source) for pos, code in enumerate(codes)]
    seen, new, fresh = set(known), [], []
    for code, record in zip(codes, logged):
        if code not in seen:
            new.append(code)
            if record is None:
                fresh.append(code)
        seen.add(code)
    try:
        results = evaluate(new, fresh)
    except TrialFailed as e:  # nothing of the window is fed back: a resumed run proposes it again
        raise TrialFailed(f"trial {start + codes.index(fresh[e.position])}: {e}", e.position) from None
    for code, record in zip(codes, logged):
        is_new = code not in known
        if record is not None:
            result, extra = float(record["result"]), {k: v for k, v in record.items() if k not in ("code", "result")}
        elif is_new:
            result, extra = results[code]
        else:
            result, extra = known[code], {}
        known[code] = result
        strategy.feedback(code, result, extra)
        yield strategy.history[-1], is_new, record is not None


def _replayed(records: list[dict[str, Any]], index: int, code: Code, source: str) -> dict[str, Any] | None:
    """The logged record of proposal `index`, checked against what the strategy proposes now; None past the log."""
    if index >= len(records):
        return None
    logged = tuple(int(c) for c in records[index]["code"])
    if logged != tuple(code):
        raise ConfError(
            f"{source}:{index + 1}: the search proposed {list(logged)} here, now {list(code)}: the strategy, its "
            "parameters or the seed changed; set common.resume=false to start over"
        )
    return records[index]


class TrialLog:
    """A JSON-lines file of trials, one `{"trial", "code", "result", "new", ...}` object per line.

    Args:
        path: the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> list[dict[str, Any]]:
        """The records written so far; a last line cut short by a kill is dropped.

        Raises:
            DataError: a complete line that is not a trial record (names the file and line).
        """
        if not self.path.exists():
            return []
        lines = self.path.read_text().split("\n")
        lines = lines[:-1]  # after the last newline: '' or a line a kill cut short
        records = []
        for n, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                Trial(tuple(int(c) for c in record["code"]), float(record["result"]))
            except (ValueError, KeyError, TypeError):
                raise DataError(f"{self.path}:{n}: not a trial record (JSON with 'code' and 'result')") from None
            records.append(record)
        return records

    def restore(self) -> list[dict[str, Any]]:
        """`read`, then rewrite the file with what was read, so appends follow the last whole line (once
        every data-parallel rank has read it)."""
        records = self.read()
        barrier()
        self.rewrite(records)
        return records

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Replace the file by `records`, atomically."""
        atomic_write_text(self.path, "".join(json_text(r) + "\n" for r in records))

    def append(self, record: dict[str, Any]) -> None:
        """Add one record and flush it, so a kill keeps every finished trial (rank 0 alone writes)."""
        if not is_main():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json_text(record) + "\n")
            f.flush()


def replay_records(strategy: SearchStrategy, records: list[dict[str, Any]], source: str) -> dict[Code, float]:
    """Feed a set-up strategy the logged trials one by one (a search with window 1), checking that it
    proposes each one again. A windowed search replays through `search_loop(..., replay=records)`.

    Returns:
        The known results.

    Raises:
        ConfError: the strategy now proposes something else (its conf or seed changed); names the line.
    """
    return search_loop(strategy, _nothing_to_evaluate, None, len(records), replay=records, replay_source=source)


def _nothing_to_evaluate(code: Code) -> tuple[float, dict[str, Any]]:
    raise AssertionError(f"{list(code)}: a replay evaluates nothing")
