"""Chaos: SIGKILL the service and the run processes at random instants, restart, and audit.

The promise under test: killing the service at any instant and restarting it loses no fire time
and starts none twice; a run whose process died is found and marked ``Crashed`` (then retried,
within ``retries``), never left unfinished; several services on one PostgreSQL store start each
fire time once.

The deployment fires every second (``catchup = "all"``, ``overlap = "allow"``, ``retries = 1``).
Its one task has a side effect outside the store: it appends ``"<run id> <pid> begin"`` to a file,
sleeps 0.3 s (so kills land mid-run), then appends ``"<run id> <pid> done"``. The pid names the
attempt: the store records, for every attempt that started, a ``Running`` event naming the
process that took the run over.

The service is SIGKILLed at random instants (seeded): half the time after a uniform random
delay, half the time within 0.5 s after it claimed a run (so in the middle of launching), and
restarted at once. Every few kills the process of a random ``Running`` run is SIGKILLed too,
sometimes right after its service was (so the next service must find it dead), sometimes under a
live service. Then the backlog drains, the services stop gracefully, and the history must say:

- every fire time between the first and the last has exactly one run (none missing or doubled);
- every run is finished, ``Success`` or ``Crashed``, and ``Crashed`` (of an attempt or of a run)
  only where this test killed the attempt's process: a run ends ``Crashed`` only when both its
  attempts were killed;
- "exactly once", as it can hold when processes are SIGKILLed mid-run: every line comes from an
  attempt that started (a process that took that run over), at most one ``begin`` and one
  ``done`` per attempt, exactly one of each from the attempt that succeeded (a killed attempt may
  have done its work before it died: that is the retry's price), and the lines of one run's
  attempts never interleave in the file (two attempts of one run never ran at once).

Nothing here times anything: every wait polls the store with a generous limit.
"""

from __future__ import annotations

import random
import signal
import subprocess
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from tests.service.support import (
    kill,
    start_service_logging,
    stop_child_processes_of,
    stop_run_processes,
)

from tideflow import actions, lifecycle
from tideflow.deployments import Deployment, Entrypoint
from tideflow.engine.run_writer import HOST
from tideflow.schedules import IntervalSchedule
from tideflow.store import Event, FlowRunRecord, MemoryStore, RunStore, open_store

DEPLOYMENT = "chaos"
KILLS = 14
"""How often the (victim) service is SIGKILLed."""
RETRIES = 1
DRAIN = 180.0
"""Seconds the backlog of the chaos gets to finish once the kills are over."""
GRACE = "120"
"""The services' --grace: a graceful stop at the end never cuts a run short."""

FLOW = """
import os
import time

from tideflow import Flow, Parameter, context, task


def append(path: str, line: str) -> None:
    # One write(2) on a file opened O_APPEND: lines of concurrent processes never mix.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


@task
def effect(effects: str, seconds: float) -> None:
    attempt = f"{context.get('flow_run_id')} {os.getpid()}"
    append(effects, f"{attempt} begin")
    time.sleep(seconds)
    append(effects, f"{attempt} done")


with Flow("counted") as counted:
    effect(Parameter("effects"), Parameter("seconds", default=0.3))
"""

CONFIG = """
[deployments.{name}]
flow = "chaos_flows.py:counted"
interval = "1s"
catchup = "all"
overlap = "allow"
retries = {retries}
parameters = {{ effects = "{effects}", seconds = 0.3 }}
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "chaos_flows.py").write_text(FLOW)
    config = CONFIG.format(name=DEPLOYMENT, retries=RETRIES, effects=tmp_path / "effects.txt")
    (tmp_path / "tideflow.toml").write_text(textwrap.dedent(config))
    return tmp_path


# -- the chaos -----------------------------------------------------------------------------------


@dataclass
class Chaos:
    """Starts, kills and restarts services on one store, and kills run processes; remembers
    which run processes it killed (the only ones allowed to have crashed)."""

    store: RunStore
    workspace: Path
    env: dict[str, str]
    rng: random.Random
    killed: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    services: list[subprocess.Popen[str]] = field(default_factory=list)
    seen: int = 0
    """The id of the last event looked at while waiting for a claim."""
    claims_hit: int = 0
    """Kills that followed a claim by the service killed."""
    timeline: list[str] = field(default_factory=list)
    """What was killed when, for failure messages."""

    @property
    def log(self) -> Path:
        return self.workspace / "services.log"

    def start(self) -> subprocess.Popen[str]:
        service = start_service_logging(
            self.workspace / "tideflow.toml", self.env, self.log, "--grace", GRACE
        )
        self.services.append(service)
        return service

    def kill(self, service: subprocess.Popen[str]) -> None:
        kill(service)
        self.services.remove(service)

    def wait_for_a_claim_by(self, service: subprocess.Popen[str], timeout: float = 30) -> bool:
        """Wait until ``service`` claims a run (for a process it started: it is launching);
        whether it did within ``timeout`` seconds (another service may win every claim)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and service.poll() is None:
            for event in self.store.events(after_id=self.seen, kinds=["flow_run"]):
                assert event.id is not None
                self.seen = event.id
                if event.name == lifecycle.CLAIMED and _parent(event.data["pid"]) == service.pid:
                    return True
            time.sleep(0.05)
        return False

    def kill_a_running_run(self, timeout: float = 10) -> str | None:
        """SIGKILL the process of a random ``Running`` run (waiting up to ``timeout`` seconds
        for one); the run's id, or None when none was running."""
        deadline = time.monotonic() + timeout
        while True:
            running = self.store.list_flow_runs(
                deployment=DEPLOYMENT, states={lifecycle.RUNNING}, limit=None
            )
            self.rng.shuffle(running)
            for run in running:
                try:
                    process = psutil.Process(run.pid)
                    command = process.cmdline()
                    if "tideflow.service.child" not in command or command[-1] != run.id:
                        continue
                    # psutil checks that the pid still names the process it looked at.
                    process.send_signal(signal.SIGKILL)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.killed[run.id].add(run.pid)
                return run.id
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def rampage(self, service: subprocess.Popen[str], kills: int) -> subprocess.Popen[str]:
        """SIGKILL ``service`` ``kills`` times at random instants, restarting it each time, and
        run processes every few kills; the service running at the end."""
        began = time.monotonic()

        def note(what: str) -> None:
            self.timeline.append(f"{time.monotonic() - began:6.1f} s  {what}")

        for i in range(kills):
            if i % 3 == 2:
                note(f"killed the process of run {self.kill_a_running_run()}, service up")
            if i % 2 == 0:
                time.sleep(self.rng.uniform(0.5, 6.0))
                how = "at a random instant"
            else:
                claimed = self.wait_for_a_claim_by(service)
                self.claims_hit += claimed
                time.sleep(self.rng.uniform(0.0, 0.5))
                how = "just after it claimed a run" if claimed else "(it claimed nothing)"
            self.kill(service)
            note(f"killed service {service.pid} {how}")
            if i % 3 == 1:
                note(f"killed the process of run {self.kill_a_running_run()}, service just killed")
            service = self.start()
        return service

    def drain(self, until: datetime) -> list[FlowRunRecord]:
        """Wait (up to :data:`DRAIN` seconds) until every run scheduled up to ``until`` has
        finished; those that have not."""
        deadline = time.monotonic() + DRAIN
        while True:
            left = [
                run for run in self.store.unfinished_runs() if run.scheduled_start_time <= until
            ]
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.25)

    def stop_all(self) -> None:
        """Stop every service gracefully (all asked at once, so none launches what another
        stopped for), then wait until no run is unfinished (at most a minute).

        One SIGTERM each: a second one would stop the runs in progress at once, cancelled."""
        for service in self.services:
            if service.poll() is None:
                service.send_signal(signal.SIGTERM)
        for service in self.services:
            try:
                service.wait(timeout=float(GRACE) + 30)
            except subprocess.TimeoutExpired:
                kill(service)  # what it left unfinished, the audit reports
        self.services.clear()
        deadline = time.monotonic() + 60
        while self.store.unfinished_runs() and time.monotonic() < deadline:
            time.sleep(0.25)

    def clean_up(self) -> None:
        for service in self.services:
            kill(service)
        self.services.clear()
        stop_run_processes(self.store)
        stop_child_processes_of({run.id for run in self.store.list_flow_runs(limit=None)})


def _parent(pid: int) -> int | None:
    try:
        return int(psutil.Process(pid).ppid())
    except psutil.NoSuchProcess:
        return None


# -- the audit -----------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One attempt that started: the process that took the run over, and how it ended."""

    pid: int
    ended: str | None = None


@dataclass
class Audit:
    runs: list[FlowRunRecord]
    events: dict[str, list[Event]]
    problems: list[str] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)
    """Runs whose events the failure message shows."""

    def problem(self, run_id: str | None, text: str) -> None:
        self.problems.append(text)
        if run_id is not None and run_id not in self.suspects:
            self.suspects.append(run_id)

    def message(self, seed: int, log: Path, timeline: Sequence[str] = ()) -> str:
        lines = [f"seed {seed}: {len(self.problems)} problem(s):"]
        lines += [f"  - {text}" for text in self.problems[:40]]
        for run_id in self.suspects[:5]:
            lines.append(f"events of run {run_id}:")
            lines += [f"    {_describe(event)}" for event in self.events.get(run_id, [])]
        if timeline:
            lines.append("the kills:")
            lines += [f"    {entry}" for entry in timeline]
        lines.append(f"services' and run processes' log: {log}")
        return "\n".join(lines)


def _describe(event: Event) -> str:
    data = event.data
    return (
        f"#{event.id} {event.at:%H:%M:%S.%f} {event.name:<10} from={data.get('from')} "
        f"pid={data.get('pid')} attempts={data.get('attempts')} | {event.message}"
    )


def attempts_of(events: list[Event]) -> tuple[list[Attempt], list[Event]]:
    """The attempts that started (in order) and the crashes of claimed processes that never
    took the run over."""
    attempts: list[Attempt] = []
    never_started = []
    for event in events:
        if event.name == lifecycle.RUNNING:
            attempts.append(Attempt(pid=event.data["pid"]))
        elif event.name in lifecycle.FINAL:
            if event.data.get("from") == lifecycle.CLAIMED:
                never_started.append(event)
            elif attempts and attempts[-1].ended is None:
                attempts[-1].ended = event.name
    return attempts, never_started


def audit(
    store: RunStore, effects: Path, killed: dict[str, set[int]]
) -> tuple[Audit, Counter[str]]:
    """Check the store's history and the side-effect file against the promise."""
    text = effects.read_text() if effects.exists() else ""
    runs = store.list_flow_runs(deployment=DEPLOYMENT, limit=None)
    return check_history(runs, store.events(kinds=["flow_run"]), text, killed)


def check_history(
    runs: list[FlowRunRecord], all_events: list[Event], text: str, killed: dict[str, set[int]]
) -> tuple[Audit, Counter[str]]:
    """Check ``runs`` (with their ``flow_run`` events) and the side-effect file's ``text``
    against the promise (see the module docstring), given the run processes this test
    ``killed`` (pids by run id); the problems found, and counts of what happened."""
    events: dict[str, list[Event]] = defaultdict(list)
    for event in all_events:
        if event.flow_run_id is not None:
            events[event.flow_run_id].append(event)
    found = Audit(runs, events)
    counts: Counter[str] = Counter(slots=len(runs))
    if not runs:
        found.problem(None, "no run at all")
        return found, counts

    # One run per fire time, none missing between the first and the last.
    by_time: dict[datetime, list[FlowRunRecord]] = defaultdict(list)
    for run in runs:
        by_time[run.scheduled_start_time].append(run)
    for when, same in sorted(by_time.items()):
        if len(same) > 1:
            ids = ", ".join(f"{run.id} ({run.state})" for run in same)
            for run in same:
                found.suspects.append(run.id)
            found.problem(None, f"slot {when:%H:%M:%S} has {len(same)} runs: {ids}")
    first, last = min(by_time), max(by_time)
    slot = first
    while slot <= last:
        if slot not in by_time:
            found.problem(None, f"slot {slot:%H:%M:%S} has no run (first {first}, last {last})")
        slot += timedelta(seconds=1)

    # Every run finished, Success or Crashed; a crash only where this test killed the process.
    by_id = {run.id: run for run in runs}
    attempts: dict[str, list[Attempt]] = {}
    for run in runs:
        tried, never_started = attempts_of(events[run.id])
        attempts[run.id] = tried
        where = f"run {run.id} (slot {run.scheduled_start_time:%H:%M:%S})"
        if run.state not in lifecycle.FINAL:
            found.problem(run.id, f"{where} was left {run.state}: {run.state_message}")
            continue
        if run.state not in {"Success", "Crashed"}:
            found.problem(run.id, f"{where} ended {run.state}: {run.state_message}")
        for event in never_started:
            found.problem(
                run.id,
                f"{where}: its claimed process {event.data['pid']} ended {event.name} before "
                f"taking it over (this test kills only Running runs): {event.message}",
            )
        if not len(tried) <= run.attempts <= RETRIES + 1:
            found.problem(
                run.id, f"{where}: {len(tried)} attempt(s) started, {run.attempts} recorded"
            )
        for number, attempt in enumerate(tried, 1):
            counts[f"attempts {attempt.ended}"] += 1
            if attempt.ended == "Crashed" and attempt.pid not in killed.get(run.id, ()):
                found.problem(
                    run.id,
                    f"{where}: attempt {number} (process {attempt.pid}) was marked Crashed, but "
                    "this test never killed that process",
                )
            elif attempt.ended not in {"Success", "Crashed"}:
                found.problem(run.id, f"{where}: attempt {number} ended {attempt.ended}")
        if run.state == "Success":
            if [a.ended for a in tried].count("Success") != 1 or tried[-1].ended != "Success":
                ended = [a.ended for a in tried]
                found.problem(run.id, f"{where} is Success, its attempts ended {ended}")
        elif run.state == "Crashed" and run.attempts != RETRIES + 1:
            found.problem(run.id, f"{where} is Crashed after {run.attempts} attempt(s)")
        counts["retried runs"] += len(tried) > 1
        counts[f"runs {run.state}"] += 1
    for run_id, pids in killed.items():
        outcome = {a.pid: a.ended for a in attempts.get(run_id, [])}
        for victim in pids:
            counts["run processes killed"] += 1
            if outcome.get(victim) not in {"Success", "Crashed"}:
                # Killed while Running: it crashed, or had recorded Success just before.
                found.problem(
                    run_id, f"run {run_id}: killed process {victim} ended {outcome.get(victim)}"
                )

    # The side effect: lines only from attempts that started, once per attempt, never two
    # attempts of one run at once.
    lines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in text.splitlines():
        run_id, process, step = line.split()
        lines[run_id].append((int(process), step))
        counts[f"lines {step}"] += 1
    for run_id, written in lines.items():
        if run_id not in by_id:
            found.problem(None, f"lines {written} for run {run_id}, which the store does not have")
            continue
        tried = attempts[run_id]
        started = Counter(a.pid for a in tried)
        where = f"run {run_id} (slot {by_id[run_id].scheduled_start_time:%H:%M:%S})"
        steps = Counter(written)
        for (pid, step), n in sorted(steps.items()):
            if pid not in started:
                found.problem(
                    run_id,
                    f"{where}: {n} '{step}' line(s) from process {pid}, which never took the "
                    f"run over (attempts started by {sorted(started)})",
                )
            elif n > started[pid]:
                found.problem(run_id, f"{where}: {n} '{step}' lines from process {pid}")
        for pid in started:
            if steps[pid, "done"] and not steps[pid, "begin"]:
                found.problem(run_id, f"{where}: process {pid} wrote 'done' without 'begin'")
        order = [pid for pid, _ in written if pid in started]  # strangers: reported above
        blocks = [pid for i, pid in enumerate(order) if i == 0 or order[i - 1] != pid]
        attempt_order = [a.pid for a in tried]
        if len(blocks) != len(set(blocks)) or blocks != [p for p in attempt_order if p in blocks]:
            found.problem(
                run_id,
                f"{where}: the lines of its attempts interleave (processes in file order: "
                f"{order}; attempts in order: {attempt_order}): two attempts ran at once",
            )
    for run in runs:
        tried = attempts.get(run.id, [])
        if run.state == "Success" and tried and tried[-1].ended == "Success":
            pid = tried[-1].pid
            wrote = Counter(step for p, step in lines[run.id] if p == pid)
            if wrote != Counter({"begin": 1, "done": 1}):
                found.problem(
                    run.id,
                    f"run {run.id} (slot {run.scheduled_start_time:%H:%M:%S}) is Success, but "
                    f"its successful attempt (process {pid}) wrote {dict(wrote)} (one 'begin' "
                    "and one 'done' expected)",
                )
    return found, counts


def run_and_audit(chaos: Chaos, seed: int, victim: subprocess.Popen[str]) -> Counter[str]:
    """Unleash the chaos on ``victim``, drain, stop, and audit; what happened, counted."""
    began = time.monotonic()
    victim = chaos.rampage(victim, KILLS)
    cutoff, killing = datetime.now(UTC), time.monotonic()
    stuck = chaos.drain(cutoff)
    draining = time.monotonic()
    chaos.stop_all()
    phases = (
        f"kills {killing - began:.0f} s, drain {draining - killing:.0f} s, "
        f"stop {time.monotonic() - draining:.0f} s"
    )
    found, counts = audit(chaos.store, chaos.workspace / "effects.txt", chaos.killed)
    for run in stuck:
        found.problem(
            run.id,
            f"run {run.id} (slot {run.scheduled_start_time:%H:%M:%S}) was still {run.state} "
            f"{DRAIN:g} s after the last kill, with a service up: {run.state_message}",
        )
    assert not found.problems, found.message(seed, chaos.log, chaos.timeline)
    assert counts["slots"] >= 20, counts
    assert counts["attempts Crashed"] >= 1, f"no run process was killed mid-run: {counts}"
    assert counts["retried runs"] >= 1, counts
    counts["kills after a claim"] = chaos.claims_hit
    print(f"seed {seed}: {phases}; {dict(counts)}", *chaos.timeline, sep="\n")  # with -s
    return counts


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def chaos_on(workspace: Path) -> Iterator[list[Chaos]]:
    """Yields a list for the test's :class:`Chaos`; stops everything it started afterwards."""
    made: list[Chaos] = []
    yield made
    for chaos in made:
        chaos.clean_up()
        chaos.store.close()


def new_chaos(workspace: Path, url: str, seed: int) -> Chaos:
    store = open_store(url)
    assert store is not None
    return Chaos(store, workspace, {"TIDEFLOW_DATABASE_URL": url}, random.Random(seed))


@pytest.mark.slow
@pytest.mark.timeout(900)  # the waits are generous; the test takes a minute or two
@pytest.mark.parametrize("seed", [20261125])
def test_a_service_and_run_processes_killed_at_random_lose_and_double_nothing(
    workspace: Path, chaos_on: list[Chaos], seed: int
) -> None:
    chaos = new_chaos(workspace, f"sqlite:///{workspace / 'tideflow.db'}", seed)
    chaos_on.append(chaos)
    run_and_audit(chaos, seed, chaos.start())


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [4242])
def test_two_services_on_postgresql_one_killed_at_random_start_each_slot_once(
    workspace: Path, postgres_url: str, chaos_on: list[Chaos], seed: int
) -> None:
    chaos = new_chaos(workspace, postgres_url, seed)
    chaos_on.append(chaos)
    chaos.start()  # the steady one: never killed, stopped at the end
    run_and_audit(chaos, seed, chaos.start())


def test_the_audit_names_each_way_the_promise_can_break() -> None:
    """The audit itself, on a history made by hand in a memory store (so a lenient audit cannot
    let the chaos tests pass): a doubled slot, a missing one, a run left Running, a crash this
    test did not cause, two attempts at once, a line from a process that never ran the run, an
    effect twice in one attempt. A run killed mid-run and retried is fine."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    spec = Deployment(
        name=DEPLOYMENT,
        entrypoint=Entrypoint("flow", "chaos_flows.py:counted"),
        schedule=IntervalSchedule(interval=timedelta(seconds=1)),
        overlap="allow",
        retries=RETRIES,
    )
    lines: list[str] = []

    with MemoryStore() as store:

        def attempt(run_id: str, pid: int, state: str | None, *written: str) -> None:
            assert store.claim(run_id, at=t0, host=HOST, pid=pid) is not None
            assert store.start(run_id, at=t0, host=HOST, pid=pid) is not None
            lines.extend(f"{run_id} {pid} {step}" for step in written)
            if state is not None:
                assert store.finish(run_id, state, state, at=t0) is not None

        def run(second: int, name: str) -> str:
            record = actions.new_run(spec, t0 + timedelta(seconds=second), run_id=name)
            store.create_flow_run(record)
            return record.id

        fine = run(0, "fine")
        attempt(fine, 101, "Success", "begin", "done")
        retried = run(1, "retried")  # killed after its effect, then retried: fine
        attempt(retried, 102, "Crashed", "begin", "done")
        attempt(retried, 103, "Success", "begin", "done")
        # slot 2: missing
        unkilled = run(3, "unkilled")
        attempt(unkilled, 104, "Crashed", "begin")
        attempt(unkilled, 105, "Success", "begin", "done")
        stuck = run(4, "stuck")
        attempt(stuck, 106, None, "begin")
        twice = run(5, "twice")  # attempt 2 started while attempt 1 still ran
        attempt(twice, 107, "Crashed", "begin")
        attempt(twice, 108, "Success", "begin")
        lines += [f"{twice} 107 done", f"{twice} 108 done"]
        stranger = run(6, "stranger")
        attempt(stranger, 109, "Success", "begin", "done", "done")
        lines.append(f"{stranger} 110 begin")
        runs = store.list_flow_runs(deployment=DEPLOYMENT, limit=None)
        double = replace(store.get_flow_run(fine), id="double")
        killed = {retried: {102}, twice: {107}}
        found, counts = check_history(
            [*runs, double], store.events(kinds=["flow_run"]), "\n".join(lines), killed
        )

    report = "\n".join(found.problems)
    expected = [
        "slot 00:00:00 has 2 runs",
        "slot 00:00:02 has no run",
        "run stuck (slot 00:00:04) was left Running",
        "run unkilled (slot 00:00:03): attempt 1 (process 104) was marked Crashed, but this "
        "test never killed that process",
        "run twice (slot 00:00:05): the lines of its attempts interleave",
        "run stranger (slot 00:00:06): 1 'begin' line(s) from process 110, which never took",
        "run stranger (slot 00:00:06): 2 'done' lines from process 109",
        "run stranger (slot 00:00:06) is Success, but its successful attempt (process 109) wrote",
    ]
    for text in expected:
        assert text in report, f"{text!r} not in:\n{report}"
    assert "retried" not in report, report
    assert "run fine" not in report, report
    assert counts["retried runs"] == 3
    assert "events of run" in found.message(1, Path("log"))
