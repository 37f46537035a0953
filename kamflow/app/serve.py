"""The embedded Prefect side: environment, the local server, and the deployments `kamflow serve` runs."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from kamflow.settings import Settings, private_file

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess

    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun

PR_SET_PDEATHSIG = 1
STOP_SECONDS = 8.0
POLL_SECONDS = 0.5
"""How often serve's runner looks for runs to start: a resumed run waits half of it on average."""


def prefect_environment(settings: Settings) -> dict[str, str]:
    """Prefect settings for kamflow's processes; anything already in the environment wins."""
    wanted = {
        "PREFECT_HOME": str(settings.prefect_home_dir),
        "PREFECT_API_URL": settings.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    }
    return {name: os.environ.get(name, value) for name, value in wanted.items()}


def configure(settings: Settings) -> None:
    """Call before Prefect is imported: Prefect reads its settings from the environment."""
    settings.prefect_home_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(prefect_environment(settings))


def api_ready(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for_api(
    api_url: str, *, waiting: Callable[[str], None], every: float = 2.0, say_every: float = 60.0
) -> None:
    """Return once the Prefect API at `api_url` answers at all (it may ask for its auth string), until then
    calling `waiting` with what stands in the way, at once and every `say_every` seconds: a worker started before
    its Prefect server (the machines booting together, the server restarting) waits for it, rather than failing
    and being started again by its supervisor every few seconds."""
    said = -say_every
    while True:
        try:
            httpx.get(f"{api_url}/health", timeout=2)
            return
        except httpx.HTTPError as error:
            if time.monotonic() - said >= say_every:
                waiting(str(error) or type(error).__name__)
                said = time.monotonic()
        time.sleep(every)


def stop_on_signals(*, within: float = STOP_SECONDS) -> None:
    """Ctrl-C and SIGTERM both stop `kamflow serve` the same way, from its first moment, in the foreground or as a
    background job (which starts with SIGINT ignored): the first asks it to stop; if it has not stopped `within`
    seconds later (a signal in the middle of an import can leave Prefect's threads hanging), or at a second
    signal, it ends at once — its server follows it (`_die_with_parent`) and the next serve stops what is left."""

    def stop(signum: int, _frame: object) -> None:
        if stopping.is_set():
            os._exit(128 + signum)
        stopping.set()
        deadline = threading.Timer(within, os._exit, args=(128 + signum,))
        deadline.daemon = True
        deadline.start()
        raise KeyboardInterrupt

    stopping = threading.Event()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _die_with_parent() -> None:
    """In the server's process before it runs: the kernel kills it when `kamflow serve` ends, even by kill -9, so
    no server outlives the serve that started it (its database keeps every committed write)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Running: not gone, nor a zombie that nobody has reaped yet (a killed process whose parent died with it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stop_server(pid: int, *, timeout: float = 5) -> None:
    """Stop a server this module started (its own session, so the whole group): SIGTERM, and SIGKILL if it is still
    there after `timeout` seconds (Prefect's server takes about 20 s to wind down its services; its database
    keeps every committed write either way)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _pidfile(settings: Settings) -> Path:
    return settings.prefect_home_dir / "server.pid"


def owns_server(settings: Settings) -> bool:
    """Whether `kamflow serve` runs the local Prefect server itself: unless KAMFLOW_PREFECT_API_URL points
    elsewhere or another server already answers there — an orphan of a killed serve does not count."""
    orphan = _pidfile(settings).exists() and alive(int(_pidfile(settings).read_text()))
    return settings.prefect_api_url is None and (orphan or not api_ready(settings.api_url))


def _stop_orphan(pidfile: Path) -> None:
    """A server whose serve was killed before it could stop it is stopped before a new one starts."""
    if pidfile.exists():
        pid = int(pidfile.read_text())
        if alive(pid):
            stop_server(pid)
        pidfile.unlink()


@contextlib.contextmanager
def local_server(settings: Settings, *, timeout: float = 90) -> Iterator[None]:
    """The local Prefect server on loopback with kamflow's Prefect home, for as long as the block runs; stopped
    when it ends. Its pid is kept in the Prefect home, so that an orphan is found and stopped at the next start."""
    pidfile = _pidfile(settings)
    _stop_orphan(pidfile)
    env = {**os.environ, **prefect_environment(settings)}
    private_file(settings.prefect_home_dir / "prefect.db")  # the server's own database, where it keeps run inputs
    log = private_file(settings.prefect_home_dir / "server.log").open("ab")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(settings.prefect_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    pidfile.write_text(str(server.pid))
    try:
        deadline = time.monotonic() + timeout
        while not api_ready(settings.api_url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start; see {log.name}")
            time.sleep(0.5)
        yield
    finally:
        stop_server(server.pid)
        pidfile.unlink(missing_ok=True)


def _spawn_lean() -> None:
    """A flow run's process (`_fork_flow_processes`) first runs its parent's main script again as `__mp_main__`,
    unless the parent ran a package's `__main__`: for the `kamflow` command, the whole CLI, about 0.15 s of every
    flow process's start that no flow needs (a run's flow comes back by its own module). Serve run as the `kamflow`
    script takes the spec of `python -m kamflow.app.cli`."""
    main = sys.modules["__main__"]
    if main.__spec__ is None:
        main.__spec__ = importlib.util.find_spec("kamflow.app.cli.__main__")


FORK_PRELOAD = "kamflow.app.flow_process"
"""What the fork server of `_fork_flow_processes` imports before it forks a run's process."""


def _fork_flow_processes() -> None:
    """Start each flow run's process from a fork server that has imported what runs need once (multiprocessing's
    forkserver, preloaded with `FORK_PRELOAD`; started now, in the background), not afresh: a run resumed after its
    warm wait, a review's shard or a scheduled run is started in milliseconds instead of spending 1.5 s importing
    Prefect and the flows. The fork server is a process of its own that holds nothing of serve's (no thread,
    connection or settings object); each run's process is forked from it as it stood after the imports, so runs
    share nothing; it ends with serve. Prefect's runner starts a served flow's process with
    `prefect.flow_engine.run_flow_in_subprocess`, which asks its `multiprocessing` for the spawn context: that one
    lookup is pointed at the fork server (tests/integration/test_discount_process.py checks whose child a waiting
    run's process is)."""
    import copyreg
    import multiprocessing
    import types
    from multiprocessing import forkserver

    import prefect.flow_engine
    from prefect import Flow

    copyreg.pickle(Flow, _by_name)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([FORK_PRELOAD])
    forkserver.ensure_running()
    prefect.flow_engine.multiprocessing = types.SimpleNamespace(get_context=lambda _method: context)  # type: ignore[attr-defined,assignment]


def _holder(pid: int) -> str:
    """A run's process as its flow run records it (`infrastructure_pid`): this machine's name and the pid, as
    Prefect's process workers record it."""
    return f"{socket.gethostname()}:{pid}"


def _record_holders() -> None:
    """Each run's process, as the runner starts it, is recorded on its flow run (`_holder`): the API shows which
    machine and process holds a run, and a serve or worker that starts again on this machine ends at once the runs
    whose process has died since (`end_orphans`). Prefect's runner starts a served flow's process through the
    module-level `run_flow_in_subprocess` of `prefect.runner._starter_direct`, which that module's starter names as
    the one to patch to override it. The starter calls it on the runner's event loop: the record is sent from that
    loop without holding it up."""
    import asyncio

    from prefect.flow_engine import run_flow_in_subprocess as start
    from prefect.runner import _starter_direct

    sending: set[asyncio.Task[None]] = set()  # held until sent: the loop keeps only weak references to its tasks

    def started(flow: Flow[..., Any], flow_run: FlowRun | None = None, **options: Any) -> SpawnProcess:
        process = start(flow, flow_run=flow_run, **options)
        if flow_run is not None and process.pid is not None:
            task = asyncio.get_running_loop().create_task(_record(flow_run, _holder(process.pid)))
            sending.add(task)
            task.add_done_callback(sending.discard)
        return process

    _starter_direct.run_flow_in_subprocess = started  # type: ignore[attr-defined,assignment]


async def _record(flow_run: FlowRun, holder: str) -> None:
    from prefect import get_client

    try:
        async with get_client() as client:
            await client.update_flow_run(flow_run.id, infrastructure_pid=holder)
    except Exception:  # the process runs whatever: a run with no holder is left to the crash detection
        logging.getLogger("kamflow.serve").warning("could not record run %s's process", flow_run.name)


def _by_name(flow: Flow[..., object]) -> str:
    """A served flow is sent to its run's process by name, as pickle sends a module's function (the process has
    imported its module), not by value: a flow's function taken by value keeps only the names its code uses, so the
    types its parameters are annotated with could not be resolved to check a run's parameters."""
    name: str = flow.fn.__name__
    return name


def serve(
    settings: Settings, *, ready: Callable[[], None], limit: int | None = None, sweeping: bool = True
) -> None:
    """Serve every kamflow process from this process until interrupted: register its deployment (with its
    schedule) on the Prefect server, call `ready`, then start each of its runs, at most `limit` at once (a run
    waiting for a person holds its process through its warm wait, flows/human.py), sweeping for runs to recover
    every RECOVERY_SECONDS unless `sweeping` is off (`kamflow worker`: the deadlines flow sweeps there, on one
    machine at a time). Each flow is served in hand, so that a run's process starts from the flow already imported
    (`_fork_flow_processes`), not from its entrypoint. Several processes, on as many machines, may serve the same
    deployments: each run is taken by the first to claim it."""
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    from flows.processes import PROCESSES, deployment_options

    _spawn_lean()
    _fork_flow_processes()
    _record_holders()
    if sweeping:
        threading.Thread(target=_recovering, name="kamflow-recovery", daemon=True).start()

    # Schedules are not paused on the way out: the next serve serves them as they are.
    runner = Runner(pause_on_shutdown=False, limit=limit, query_seconds=POLL_SECONDS)
    for process in PROCESSES.values():
        runner.add_flow(process.flow, **deployment_options(process, settings))
    ready()
    with contextlib.suppress(KeyboardInterrupt, TerminationSignal):
        asyncio.run(runner.start())


RECOVERY_SECONDS = 10.0
ORPHANED = ("RUNNING", "PENDING")


def end_orphans(*, every_run: bool) -> list[str]:
    """Before a serve or a worker starts its runner, the runs whose process is gone are marked Crashed — the
    recovery sweep then starts a waiting task's run again at once, and a review may be run again. `every_run`: a
    serve that runs its own Prefect server carries every run of it, so one left Running or Pending lost its process
    with the serve before (kill -9, a power cut); otherwise (a worker, or serve for a server elsewhere), the runs
    whose process on this machine (`_holder`) has ended — a run claimed and not yet started, or held by another
    machine, is left to the production shape's crash detection. (A run left Cancelling, the runner cancels itself.)
    Returns the names of the runs it ended (logged)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    from kamflow.i18n import _

    left = FlowRunFilterStateType(any_=[StateType(name) for name in ORPHANED])
    states = FlowRunFilter(state=FlowRunFilterState(type=left))
    why = _("its process ended with the kamflow serve or worker that ran it")
    with get_client(sync_client=True) as client:
        runs: list[FlowRun] = []
        while page := client.read_flow_runs(flow_run_filter=states, limit=200, offset=len(runs)):
            runs += page
        ended = [run for run in runs if every_run or _died_here(run.infrastructure_pid)]
        for run in ended:
            client.set_flow_run_state(run.id, Crashed(message=why), force=True)
    if ended:
        logger = logging.getLogger("kamflow.recovery")
        logger.warning("ended the runs whose process is gone: %s", ", ".join(run.name for run in ended))
    return [run.name for run in ended]


def _died_here(holder: str | None) -> bool:
    """Whether a run's recorded process (`_holder`) was on this machine and has ended."""
    machine, _, pid = (holder or "").rpartition(":")
    return machine == socket.gethostname() and pid.isdigit() and not alive(int(pid))


def _recovering() -> None:
    """The recovery sweep (`flows.recovery`) from serve's start and every RECOVERY_SECONDS, in this process: what
    a killed serve left behind comes back within seconds of the restart, whatever the deadlines flow's schedule
    (the flow runs the sweep too, which is how the workers of the production shape run it)."""
    from flows.recovery import recover
    from kamflow import clock

    while True:
        try:
            recover(now=clock.now())
        except Exception:  # a sweep that fails (Prefect's API away a moment) is tried again at the next
            logging.getLogger("kamflow.recovery").exception("the recovery sweep failed")
        time.sleep(RECOVERY_SECONDS)
