"""The search loop every discrete search runs, and the trial log that lets it resume.

The loop asks a strategy for a code, evaluates it (a table lookup, a training run) unless it is known,
and feeds the result back; a repeated code reuses its result and costs nothing, so the budget counts
distinct architectures. Each trial can be written as a JSON line; reading the lines back and replaying
them rebuilds the strategy, and the search goes on where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from descgraph._files import atomic_write_text
from descgraph._json import json_text
from descgraph.errors import ConfError, DataError
from descgraph.nas.discrete.random_search import SpaceExhausted
from descgraph.nas.discrete.space import Code
from descgraph.nas.discrete.strategy import SearchStrategy, Trial

Evaluate = Callable[[Code], tuple[float, dict[str, Any]]]


def search_loop(
    strategy: SearchStrategy,
    evaluate: Evaluate,
    budget: int | None,
    max_proposals: int | None = None,
    known: dict[Code, float] | None = None,
    on_trial: Callable[[Trial, bool], None] | None = None,
    *,
    time_limit_s: float = 0.0,
    stop_on_interrupt: bool = False,
    on_stop: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[Code, float]:
    """Propose and evaluate until `budget` distinct codes are known, the strategy has proposed
    `max_proposals` times (its history counts), it has nothing new to propose, or it is `done()`.

    Args:
        strategy: a strategy set up (and replayed, when resuming).
        evaluate: code -> (result, extra numbers); called once per distinct code.
        budget: distinct codes to evaluate, those in `known` included; None: no limit (the strategy ends
            the search through `done()` or `max_proposals`).
        max_proposals: proposals in all, repeats included (10 x budget by default, no limit without a
            budget): a strategy that has converged to known codes ends.
        known: results already known (a resumed search's); updated in place.
        on_trial: called with each trial and whether it was evaluated (False: a repeat).
        time_limit_s: stop before the next proposal once this many seconds have passed (0: no limit).
        stop_on_interrupt: a Ctrl-C (KeyboardInterrupt) during a proposal or an evaluation ends the loop,
            keeping every trial fed back before it, instead of propagating.
        on_stop: called once with why the loop ended: "budget", "proposals", "exhausted", "done",
            "time limit" or "interrupted".
        clock: seconds, for the time limit.

    Returns:
        Every known code's result.
    """
    known = {} if known is None else known
    cap = max_proposals if max_proposals is not None else (10 * budget if budget is not None else None)
    deadline = clock() + time_limit_s if time_limit_s > 0 else None
    stopped = "budget"
    try:
        while True:
            if budget is not None and len(known) >= budget:
                break
            if cap is not None and len(strategy.history) >= cap:
                stopped = "proposals"
                break
            if strategy.done():
                stopped = "done"
                break
            if deadline is not None and clock() > deadline:
                stopped = "time limit"
                break
            try:
                code = strategy.propose()
            except SpaceExhausted:
                stopped = "exhausted"
                break
            is_new = code not in known
            result, extra = evaluate(code) if is_new else (known[code], {})
            known[code] = result
            strategy.feedback(code, result, extra)
            if on_trial is not None:
                on_trial(strategy.history[-1], is_new)
    except KeyboardInterrupt:
        if not stop_on_interrupt:
            raise
        stopped = "interrupted"
    if on_stop is not None:
        on_stop(stopped)
    return known


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
        """`read`, then rewrite the file with what was read, so appends follow the last whole line."""
        records = self.read()
        self.rewrite(records)
        return records

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Replace the file by `records`, atomically."""
        atomic_write_text(self.path, "".join(json_text(r) + "\n" for r in records))

    def append(self, record: dict[str, Any]) -> None:
        """Add one record and flush it, so a kill keeps every finished trial."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json_text(record) + "\n")
            f.flush()


def replay_records(strategy: SearchStrategy, records: list[dict[str, Any]], source: str) -> dict[Code, float]:
    """Feed a set-up strategy the logged trials, checking that it proposes each one again.

    Returns:
        The known results.

    Raises:
        ConfError: the strategy now proposes something else (its conf or seed changed); names the line.
    """
    known: dict[Code, float] = {}
    for n, record in enumerate(records, start=1):
        code, proposed = tuple(int(c) for c in record["code"]), strategy.propose()
        if proposed != code:
            raise ConfError(
                f"{source}:{n}: the search proposed {list(code)} here, now {list(proposed)}: the strategy, its "
                "parameters or the seed changed; set common.resume=false to start over"
            )
        known[code] = float(record["result"])
        strategy.feedback(code, known[code], {k: v for k, v in record.items() if k not in ("code", "result")})
    return known
