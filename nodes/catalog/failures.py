"""Failures of a step of a node's aggregation jobs, told apart in one place (SPEC §6.3).

A step (validating a group, committing it, a push round) fails for reasons outside the job: the
store, the validation worker process, a value that does not decode as it was stored or sent.
``map_exceptions`` translates each into one of ours at the job's boundary, by ``FAILURES``, as
httpcore's ``map_exceptions`` does for its network backends; the job logs it and goes on (the
children send their batches again, the next push round tries again). An exception not in the
mapping is a defect: it ends the job and with it the aggregation and the node, loudly.

StepFailed
├── StoreFailed          the store failed (``nodes.errors.StoreError``)
├── WorkerFailed         the validation worker could not be started, reached or paid
└── ValueUndecodable     a stored or received value does not decode (``ValueError``: orjson,
                         pydantic)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager
from pickle import PicklingError
from types import MappingProxyType

from nodes.errors import StoreError


class StepFailed(Exception):
    """A step of an aggregation job failed; the job goes on."""


class StoreFailed(StepFailed):
    pass


class WorkerFailed(StepFailed):
    pass


class ValueUndecodable(StepFailed):
    pass


FAILURES: Mapping[type[Exception], type[StepFailed]] = MappingProxyType(
    {
        StoreError: StoreFailed,
        BrokenExecutor: WorkerFailed,
        PicklingError: WorkerFailed,
        OSError: WorkerFailed,
        ValueError: ValueUndecodable,
    }
)


@contextmanager
def map_exceptions(
    mapping: Mapping[type[Exception], type[StepFailed]] = FAILURES,
) -> Iterator[None]:
    """Raise the StepFailed ``mapping`` names for an exception of the block, from it."""
    try:
        yield
    except Exception as exc:
        for from_exc, to_exc in mapping.items():
            if isinstance(exc, from_exc):
                raise to_exc(f"{type(exc).__name__}: {exc}") from exc
        raise
