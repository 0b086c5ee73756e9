"""Running the sampling engine (:mod:`corpo_sampling.engine`) over many requests: in this process
with one data-parallel rank, else one process per rank, each with its own ``CUDA_VISIBLE_DEVICES``
slice and every ``data_parallel_size``-th request (vLLM's own recipe for offline data parallelism).
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import traceback
from typing import Iterable, Iterator, Sequence

from corpo_sampling.engine import (
    EngineSettings,
    Request,
    cuda_device_count,
    open_engine,
    private_temp_folder,
)


def sample(settings: EngineSettings, requests: Sequence[Request]) -> Iterator[tuple[Request, list[str]]]:
    """``(request, answers)`` for every request, in the order they finish."""
    if not requests:
        return
    if settings.backend == "vllm":
        private_temp_folder()  # here, so that data-parallel ranks inherit it and this process removes it
    if settings.data_parallel_size == 1:
        yield from _run_rank(settings, requests)
    else:
        yield from _run_data_parallel(settings, requests)


def _run_rank(settings: EngineSettings, requests: Sequence[Request]) -> Iterator[tuple[Request, list[str]]]:
    with open_engine(settings) as engine:
        yield from engine.run(requests)


# --- several engines --------------------------------------------------------------------------


def _rank_main(settings: EngineSettings, requests: list[Request], rank: int, results) -> None:
    """A data-parallel rank: sample its requests, send each result, then ``done`` (or ``error``)."""
    try:
        for request, answers in _run_rank(settings, requests):
            results.put(("result", rank, request.key, answers))
        results.put(("done", rank, None, None))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        results.put(("error", rank, None, traceback.format_exc()))


def _visible_devices(rank: int, tensor_parallel_size: int) -> str | None:
    """The GPUs of one rank: its ``tensor_parallel_size`` consecutive visible devices."""
    if cuda_device_count() == 0:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = visible.split(",") if visible else [str(i) for i in range(cuda_device_count())]
    mine = devices[rank * tensor_parallel_size:(rank + 1) * tensor_parallel_size]
    if len(mine) < tensor_parallel_size:
        raise ValueError(f"data-parallel rank {rank} needs {tensor_parallel_size} GPUs, {len(devices)} visible in all")
    return ",".join(mine)


def _start_rank(context, settings: EngineSettings, shard: list[Request], rank: int, results):
    """Start one rank's process with its own ``CUDA_VISIBLE_DEVICES`` (set while it starts)."""
    devices = _visible_devices(rank, settings.tensor_parallel_size)
    saved = os.environ.get("CUDA_VISIBLE_DEVICES")
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices
    try:
        process = context.Process(target=_rank_main, args=(settings, shard, rank, results),
                                  name=f"sampling-rank-{rank}", daemon=False)  # vLLM starts processes of its own
        process.start()
    finally:
        if devices is not None:
            if saved is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = saved
    return process


def _stop(processes: Iterable) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()


def _run_data_parallel(settings: EngineSettings, requests: Sequence[Request]) -> Iterator[tuple[Request, list[str]]]:
    size = settings.data_parallel_size
    by_key = {request.key: request for request in requests}
    if len(by_key) != len(requests):
        raise ValueError("request keys must be unique")
    shards = [list(requests[rank::size]) for rank in range(size)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = {rank: _start_rank(context, settings, shard, rank, results) for rank, shard in enumerate(shards) if shard}
    running = set(processes)
    try:
        while running:
            try:
                kind, rank, key, payload = results.get(timeout=5)
            except queue_module.Empty:
                for rank in list(running):
                    if not processes[rank].is_alive():
                        raise RuntimeError(f"data-parallel rank {rank} exited with code {processes[rank].exitcode} "
                                           "before finishing its prompts") from None
                continue
            if kind == "result":
                yield by_key[key], payload
            elif kind == "done":
                running.discard(rank)
            else:
                raise RuntimeError(f"data-parallel rank {rank} failed:\n{payload}")
        for process in processes.values():
            process.join()
    finally:
        _stop(processes.values())
        results.close()
        results.join_thread()
