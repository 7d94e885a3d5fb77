"""``rangeguard stream``: play a simulated flight or a recorded nav log as packets, with link faults.

The command wires the simulator to the streamer: the simulated flight's nav log comes from
rangeguard.sim.sensors.scenario_navlog, and rangeguard.telemetry.stream only plays nav logs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from rangeguard import paths
from rangeguard.cli import options
from rangeguard.cli.app import app
from rangeguard.errors import InputError
from rangeguard.mission import load_mission


@app.command("stream")
def stream_cmd(
    mission: Path = typer.Option(..., "--mission", "-m", help="Mission YAML file."),
    to: str = typer.Option(None, "--to", help="Where to send the packets (udp://HOST:PORT)."),
    key: Path = typer.Option(None, "--key", help="Pre-shared key file: sign every packet (and verify with --receive)."),
    insecure: bool = typer.Option(False, "--insecure", help="LAB USE ONLY: send unauthenticated packets (no --key)."),
    spi: int = typer.Option(1, "--spi", help="This sender's security parameter index (run --nav-spi), 0..65535."),
    receive: str = typer.Option(
        None,
        "--receive",
        help="Also act as the flight termination receiver: listen here (run's --command, udp://HOST:PORT), verify, "
        "watch the heartbeat.",
    ),
    receive_s: float = typer.Option(
        30.0, "--receive-s", help="With --receive: listen at most this long (s) after the playback, or until it acts."
    ),
    heartbeat_hz: float = typer.Option(1.0, "--heartbeat-hz", help="With --receive: run's --heartbeat-hz (Hz)."),
    missed_heartbeats: int = typer.Option(
        3, "--missed-heartbeats", help="With --receive: heartbeat periods without one before the receiver acts."
    ),
    on_heartbeat_loss: str = typer.Option(
        "by-state",
        "--on-heartbeat-loss",
        help="With --receive: by-state (terminate if the AFSS was ARMED, else safe), terminate, or safe.",
    ),
    scenario: str = typer.Option(None, "--scenario", "-s", help="Failure scenario to fly (default: nominal)."),
    navlog: Path = typer.Option(
        None, "--navlog", help="Play this recorded nav log (CSV or Parquet) instead of simulating."
    ),
    rate_hz: float = typer.Option(
        None,
        "--rate-hz",
        help="Nav output rate per source for a simulated flight (Hz; default: the mission's sensors).",
    ),
    speed: str = typer.Option("1.0", "--speed", help="Playback speed factor, or 'max' for as fast as possible."),
    loss: float = typer.Option(0.0, "--loss", help="Probability that a packet is lost."),
    duplicate: float = typer.Option(0.0, "--duplicate", help="Probability that a packet is sent twice."),
    reorder: float = typer.Option(0.0, "--reorder", help="Probability that a packet is held behind the next one."),
    corrupt: float = typer.Option(0.0, "--corrupt", help="Probability that 1-3 bits of a packet are flipped."),
    delay_ms: float = typer.Option(0.0, "--delay-ms", help="Fixed link delay added to every packet (ms)."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the link faults (and of the sensor noise with --sim-seed unset)."
    ),
    sim_seed: int = typer.Option(None, "--sim-seed", help="Seed of the sensor noise (default: the mission's)."),
    until_s: float = typer.Option(600.0, "--until-s", help="Stop at this flight time (T+ s)."),
    save_navlog: Path = typer.Option(None, "--save-navlog", help="Also write the nav log that is played (Parquet)."),
) -> None:
    """Stream nav packets of a flight to a running `rangeguard run`; print what was injected as JSON.

    With --receive, also listen on the AFSS's command address as the flight termination receiver
    (rangeguard.telemetry.receiver): the JSON line then has a "receiver" object with the action taken.
    """
    import pyarrow.parquet as pq

    from rangeguard.formats.navlog import read_table
    from rangeguard.keyfile import read_key_file
    from rangeguard.sim.sensors import scenario_navlog
    from rangeguard.telemetry.auth import MAX_SPI, SPI_AFSS, Signer, Verifier
    from rangeguard.telemetry.link import UdpAddress
    from rangeguard.telemetry.stream import (
        LinkFaults,
        inject_faults,
        navlog_frames,
        navlog_from_table,
        play,
        sign_frames,
    )

    if to is None and receive is None:
        raise InputError("give --to udp://HOST:PORT (where to send), --receive udp://HOST:PORT (listen), or both")
    if insecure == (key is not None):
        raise InputError(
            "give --key KEYFILE or --insecure, not both"
            if insecure
            else "no key: give --key KEYFILE (rangeguard keygen -o KEYFILE), or --insecure for lab use only"
        )
    if not 0 <= spi <= MAX_SPI:
        raise InputError(f"--spi must be 0..{MAX_SPI}; got {spi}")
    options.finite(receive_s, "--receive-s", at_least=0.0, unit="s")
    options.finite(heartbeat_hz, "--heartbeat-hz", above=0.0, unit="Hz")
    k = None if key is None else read_key_file(key)
    if insecure:
        print(
            "rangeguard stream: ******** INSECURE (--insecure): packets are sent unauthenticated. "
            "LAB USE ONLY. ********",
            file=sys.stderr,
            flush=True,
        )
    monitor = watcher = None
    if receive is not None:
        from rangeguard.telemetry.receiver import CommandMonitor

        monitor = CommandMonitor(
            None if k is None else Verifier(k, (SPI_AFSS,)), 1.0 / heartbeat_hz, missed_heartbeats, on_heartbeat_loss
        )
        watcher = _Watcher(UdpAddress.parse(receive, "--receive"), monitor)
    if to is None:
        assert watcher is not None
        try:
            watcher.run(receive_s)
        finally:
            watcher.close()
        print(json.dumps({"receiver": watcher.report()}), flush=True)
        return
    if navlog is not None and scenario is not None:
        raise InputError("give either --scenario or --navlog, not both")
    if navlog is not None:
        paths.input_file(navlog, "--navlog", "nav log (CSV or Parquet)")
    if save_navlog is not None:
        paths.output_file(save_navlog, "--save-navlog", example="nav.parquet")
    options.finite(rate_hz, "--rate-hz", above=0.0, unit="Hz")
    options.finite(until_s, "--until-s", unit="s")
    options.finite(delay_ms, "--delay-ms", at_least=0.0, unit="ms")
    options.seed(seed, "--seed")
    options.seed(sim_seed, "--sim-seed")
    if speed.strip().lower() == "max":
        factor = None
    else:
        try:
            factor = float(speed)
        except ValueError:
            raise InputError(f"--speed must be a number > 0 or 'max'; got {speed!r}") from None
        options.finite(factor, "--speed", above=0.0)
    faults = LinkFaults(loss, duplicate, reorder, corrupt, delay_ms, seed)
    address = UdpAddress.parse(to, "--to")
    m = load_mission(mission) if mission.suffix != ".load" else _open_load(mission, k)
    if navlog is not None:
        table = read_table(navlog)
        where = str(navlog)
    else:
        table = scenario_navlog(m, scenario, rate_hz=rate_hz, seed=sim_seed, t_max_s=until_s + 1.0)
        where = f"scenario {scenario or 'nominal'}"
    if save_navlog is not None:
        save_navlog.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, save_navlog)
    log = navlog_from_table(m, table, where)
    frames = navlog_frames(log, t_max_s=until_s)
    if k is not None:
        frames = sign_frames(frames, Signer(k, spi))
    datagrams, report = inject_faults(frames, faults)
    if watcher is not None:
        watcher.start()
    try:
        timing = play(datagrams, address.tuple, factor)
        if watcher is not None:
            watcher.join(receive_s)
    finally:
        if watcher is not None:
            watcher.close()
    report.update(timing)
    report["speed"] = "max" if factor is None else factor
    report["authenticated"] = k is not None
    if watcher is not None:
        report["receiver"] = watcher.report()
    print(json.dumps(report), flush=True)
    print(
        f"rangeguard stream: {report['datagrams']} datagrams to {address} in {timing['wall_s']:.2f} s "
        f"(lost {report['lost']}, corrupted {report['corrupted']}, duplicated {report['duplicated']}, "
        f"reordered {report['reordered']})",
        file=sys.stderr,
    )


def _open_load(path: Path, key):
    from rangeguard.formats.missionload import open_load

    if key is None:
        raise InputError(f"--mission {path}: a sealed load is verified with the key that sealed it; give --key")
    return open_load(path, key)[0]


RECEIVE_POLL_S = 0.05
"""How long the receiver blocks on its socket before judging the heartbeat clock again (s)."""


class _Watcher:
    """The receiver's socket and thread around a pure CommandMonitor (rangeguard.telemetry.receiver)."""

    def __init__(self, address, monitor):
        import socket
        import threading

        self.monitor = monitor
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind(address.tuple)
        except OSError as exc:
            self.sock.close()
            raise InputError(
                f"--receive {address}: cannot bind ({exc.strerror}); is another process using it?"
            ) from None
        self.sock.settimeout(RECEIVE_POLL_S)
        host, port = self.sock.getsockname()
        print(
            f"rangeguard stream: receiving on udp://{host}:{port} (flight termination receiver)",
            file=sys.stderr,
            flush=True,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.deadline = None

    def _loop(self) -> None:
        import time

        self.monitor.start_s = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if self.monitor.check(now) is not None or (self.deadline is not None and now >= self.deadline):
                break
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                self.monitor.counters["receive_errors"] += 1
                continue
            self.monitor.datagram(data, time.monotonic())

    def start(self) -> None:
        self.thread.start()

    def run(self, seconds: float) -> None:
        import time

        self.deadline = time.monotonic() + seconds
        self._loop()

    def join(self, seconds: float) -> None:
        """After the playback: listen at most ``seconds`` more, or until the receiver has acted."""
        import time

        self.deadline = time.monotonic() + seconds
        self.thread.join()

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self.sock.close()

    def report(self) -> dict:
        return self.monitor.report()
