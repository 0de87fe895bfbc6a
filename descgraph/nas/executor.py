"""Where many candidates are evaluated independently: in this process, or on Ray actors.

Every search that evaluates a window of candidates (`search_loop`) hands the window to a `TrialExecutor`
and gets the results back in the order it gave the codes, whichever worker finished first, so the trial
history does not depend on the number of workers. `nas.search.workers` picks the executor: 1 evaluates
in this process, more start that many Ray actors, each building its own evaluator (its loaders, its
model) once from a picklable factory and running with a fixed torch thread count.
"""

from __future__ import annotations

import logging
import os
import socket
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import torch

from descgraph.conf import SearchStageConf
from descgraph.errors import ConfError, DescgraphError
from descgraph.train.threads import available_cpus, cap_threads, default_threads

Code = Hashable  # a candidate's key: a discrete space's code, a BigNAS child's
Result = tuple[float, dict[str, Any]]
Evaluate = Callable[[Code], Result]
EvaluatorFactory = Callable[[], Evaluate]

INSTALL_HINT = 'pip install "descgraph[ray]"'


class TrialFailed(DescgraphError):
    """A trial's worker died more times than `nas.search.worker_retries` allows.

    Attributes:
        position: the trial's place in the window it was evaluated with.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


class TrialExecutor(ABC):
    """Evaluates windows of codes; `extra` adds numbers computed here (costs) to each result.

    Args:
        extra: code -> numbers merged into the code's result, computed in this process.
    """

    def __init__(self, extra: Callable[[Code], dict[str, Any]] | None = None) -> None:
        self.extra = extra

    def map(self, codes: Sequence[Code]) -> list[Result]:
        """The result of each code, in the order of `codes`."""
        results = self._run(list(codes))
        if self.extra is None:
            return results
        return [(result, {**more, **self.extra(code)}) for code, (result, more) in zip(codes, results)]

    @abstractmethod
    def _run(self, codes: list[Code]) -> list[Result]:
        """Each code's (result, extra), in order."""

    def close(self) -> None:
        """Release the workers."""
        return None

    def __enter__(self) -> TrialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessExecutor(TrialExecutor):
    """Evaluates one code after the other in this process.

    Args:
        evaluate: code -> (result, extra).
        extra: see TrialExecutor.
    """

    def __init__(self, evaluate: Evaluate, extra: Callable[[Code], dict[str, Any]] | None = None) -> None:
        super().__init__(extra)
        self.evaluate = evaluate

    def _run(self, codes: list[Code]) -> list[Result]:
        return [self.evaluate(code) for code in codes]


def as_executor(evaluate: Evaluate | TrialExecutor) -> TrialExecutor:
    """An executor as given, or a function of one code run in this process."""
    return evaluate if isinstance(evaluate, TrialExecutor) else InProcessExecutor(evaluate)


def make_executor(
    stage: SearchStageConf,
    factory: EvaluatorFactory,
    threads: int = 0,
    extra: Callable[[Code], dict[str, Any]] | None = None,
    local: Evaluate | None = None,
) -> TrialExecutor:
    """The executor `stage.workers` asks for: in this process (1), or Ray actors (more).

    Args:
        stage: the search stage (workers, ray_address, worker_retries).
        factory: builds the evaluator of one code in a worker (pickled to each Ray actor).
        threads: torch threads per actor (0: the CPUs this process may use, shared by the workers).
        extra: numbers computed here for each code (see TrialExecutor).
        local: the evaluator to run in this process, when the caller has one (its loaders built); else factory().
    """
    if stage.workers == 1:
        return InProcessExecutor(local if local is not None else factory(), extra)
    threads = threads or worker_threads(stage.workers)
    return RayExecutor(factory, stage.workers, threads, stage.ray_address, stage.worker_retries, extra)


def worker_threads(workers: int) -> int:
    """Torch threads per worker so that `workers` of them share this process's CPUs without oversubscribing."""
    return default_threads(None, workers_on_this_machine=workers)


def set_worker_threads(threads: int) -> None:
    """Fix a worker's torch thread count (the one place a worker sets it); its stages never go above it."""
    cap_threads(threads)
    torch.set_num_threads(threads)


# --- Ray --------------------------------------------------------------------------------------------------
def import_ray(workers: int) -> Any:
    """The ray module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfError(
            f"nas.search.workers: {workers} workers run on Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


_ray_started_here = False  # whether connect_ray started the Ray this process uses (then release_ray ends it)


def connect_ray(workers: int, address: str = "") -> None:
    """Join the Ray cluster at `address` (else at RAY_ADDRESS), or start a local one with a CPU per worker, no
    dashboard and quiet logs; nothing when `workers` is 1 or Ray already runs in this process.

    Raises:
        ConfError: Ray is not installed, no cluster answers at the address, or a local Ray would start more
            workers than this process may use CPUs (as `--nproc` refuses more ranks); one line.
    """
    global _ray_started_here
    if workers == 1:
        return
    ray = import_ray(workers)
    if ray.is_initialized():
        return
    where = "nas.search.ray_address" if address else "RAY_ADDRESS"
    address = address or os.environ.get("RAY_ADDRESS", "")
    cpus = available_cpus()
    if not address and workers > cpus:
        raise ConfError(
            f"nas.search.workers: {workers} local Ray workers but this process may use {cpus} CPUs; give at most "
            f"{cpus}, or a cluster's address in nas.search.ray_address"
        )
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if address:
            probe(address)
            ray.init(address=address, **quiet)
        else:
            ray.init(address="local", num_cpus=workers, include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        raise ConfError(f"{where}: no Ray cluster answers at {address!r}: {first_line(e)}") from None
    _ray_started_here = True


def probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when nothing listens at a `host:port` (or `ray://host:port`) address: Ray itself waits minutes.

    Raises:
        ConnectionError: no answer within `timeout_s`.
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # 'auto' and the like: Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise ConnectionError(e.strerror or type(e).__name__) from None


def release_ray() -> None:
    """Shut Ray down if `connect_ray` started it; a Ray someone else started stays up."""
    global _ray_started_here
    if _ray_started_here:
        import ray

        ray.shutdown()
        _ray_started_here = False


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its class name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class TrialWorker:
    """A Ray actor's state: the evaluator its factory built, at a fixed thread count."""

    def __init__(self, factory: EvaluatorFactory, threads: int) -> None:
        set_worker_threads(threads)
        self.evaluate = factory()

    def run(self, code: Code) -> Result:
        return self.evaluate(code)

    def pid(self) -> int:
        return os.getpid()


class RayExecutor(TrialExecutor):
    """Evaluates codes on `workers` Ray actors, each trial on the first idle one; a trial whose actor died is
    run again on a new actor, at most `retries` times.

    Args:
        factory: builds an actor's evaluator (pickled to each actor).
        workers: actors.
        threads: torch threads per actor.
        address: the cluster to join ('' : RAY_ADDRESS, else a local one).
        retries: runs of a trial after the first whose actor died, before the search fails.
        extra: see TrialExecutor.
    """

    def __init__(
        self,
        factory: EvaluatorFactory,
        workers: int,
        threads: int,
        address: str = "",
        retries: int = 2,
        extra: Callable[[Code], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(extra)
        connect_ray(workers, address)
        self.ray = import_ray(workers)
        self.factory, self.threads, self.retries = factory, threads, retries
        self.actor_class = self.ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(TrialWorker)
        self.actors = [self._spawn() for _ in range(workers)]

    def _spawn(self) -> Any:
        return self.actor_class.remote(self.factory, self.threads)

    def _run(self, codes: list[Code]) -> list[Result]:
        ray = self.ray
        results: list[Result | None] = [None] * len(codes)
        deaths = [0] * len(codes)
        todo, idle, running = deque(range(len(codes))), list(range(len(self.actors))), {}
        while todo or running:
            while todo and idle:
                i, slot = todo.popleft(), idle.pop(0)
                running[self.actors[slot].run.remote(codes[i])] = (i, slot)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            i, slot = running.pop(ref)
            try:
                results[i] = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                raise e.cause from None  # the evaluator's own error, as raised in the actor
            except ray.exceptions.RayActorError as e:
                deaths[i] += 1
                if deaths[i] > self.retries:
                    raise TrialFailed(
                        f"the worker of {list(codes[i])} died {deaths[i]} times (nas.search.worker_retries="
                        f"{self.retries}): {first_line(e)}",
                        i,
                    ) from None
                ray.kill(self.actors[slot], no_restart=True)
                self.actors[slot] = self._spawn()
                todo.appendleft(i)
            idle.append(slot)
        return results

    def pids(self) -> list[int]:
        """The process ids of the actors (for tests that kill one)."""
        return self.ray.get([actor.pid.remote() for actor in self.actors])

    def close(self) -> None:
        """End the actors; shut Ray down when this process started it."""
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        self.actors = []
        release_ray()
