"""The cycle clock (rangeguard.engine.driver) and the receive clock replay derives for logs without one.

A hand-made vertical climb is fed with chosen receive times; which cycles are stepped, silent or
merged follows from the 0.1 s cycle and is worked out in each docstring.
"""

from __future__ import annotations

import numpy as np

from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.engine import AfssState, Engine
from rangeguard.engine.driver import CycleDriver, CycleSample
from rangeguard.formats.navclock import derived_receive_clock
from rangeguard.mission import mission_from_dict
from rangeguard.nav import NavBatch

LAT, LON = 33.5, 135.9
ROT = ecef_to_enu_matrix(LAT, LON)
PAD = geodetic_to_ecef(LAT, LON, 0.0)
DATA_LOSS = {"name": "nav-loss", "type": "data_loss", "green_time_s": 1.0, "persistence_s": 0.0}


def mission(rules=(DATA_LOSS,), sources=("a", "b")):
    return mission_from_dict(
        {
            "name": "drv",
            "site": {"lat_deg": LAT, "lon_deg": LON, "launch_azimuth_deg": 180.0},
            "nav_sources": [{"name": s} for s in sources],
            "rules": list(rules),
        }
    )


def sample(t, receive, source=0):
    r = PAD + ROT.T @ np.array([0.0, 0.0, 100.0 * t])
    return CycleSample(NavBatch.from_arrays(t, r, ROT.T @ np.array([0.0, 0.0, 100.0]), source=source), receive)


def recorded(m):
    cycles, samples = [], []
    driver = CycleDriver(
        Engine(m),
        on_samples=lambda g: samples.append([(s.t_s, s.nav.source) for s in g]),
        on_cycle=lambda d: cycles.append(float(d.receive_time_s[0])),
    )
    return driver, cycles, samples


def test_both_sources_of_an_epoch_form_one_cycle_however_they_are_fed():
    """a and b of T+1.0 received 1 ms apart: one cycle, stepped with the later receive time. Fed together
    or one by one (the second re-steps the first from the state before it), the final state is the same."""
    d1, c1, _ = recorded(mission())
    d1.feed([sample(1.0, 1.0, 0), sample(1.0, 1.001, 1)])
    d1.close()
    d2, c2, _ = recorded(mission())
    d2.feed([sample(1.0, 1.0, 0)])
    d2.feed([sample(1.0, 1.001, 1)])
    d2.close()
    assert c1 == c2 == [1.001]
    assert d1.engine.state.samples[0] == d2.engine.state.samples[0] == 2
    assert d1.cycles == d2.cycles == 1


def test_silent_cycles_come_one_cycle_after_the_last_step_and_judge_silence():
    """Last samples at T+1.0 (received 1.0). Advancing the clock to 3.0: silent cycles at 1.1, 1.2, ...;
    the data-loss green time is 1.0 s, so the cycle at 2.1 (1.1 s of silence) degrades both strings and
    health_degraded terminates; nothing is stepped after it."""
    d, cycles, _ = recorded(mission())
    d.feed([sample(1.0, 1.0, 0), sample(1.0, 1.0, 1)])
    d.advance(3.0)
    assert d.engine.state.mode[0] == AfssState.TERMINATED
    assert d.silent_cycles in (10, 11)  # the 10th is at the green time, up to the rounding of 10 x 0.1
    assert np.allclose(cycles[1:], 1.0 + 0.1 * np.arange(1, d.silent_cycles + 1))
    assert d.next_due_s is None
    d.feed([sample(3.0, 3.0, 0)])
    assert d.after_terminate == 1


def test_no_silent_cycles_before_liftoff_or_without_a_data_loss_rule():
    """SAFE (on the pad: not armed) or no receive-clock rule: a step without data cannot change anything,
    so none is stepped; a sample later simply starts the next cycle."""
    pad = CycleSample(NavBatch.from_arrays(0.0, PAD, np.zeros(3)), 0.0)
    d, _, _ = recorded(mission())
    d.feed([pad])
    d.advance(10.0)
    assert d.silent_cycles == 0 and d.engine.state.mode[0] == AfssState.SAFE
    speed = {"name": "v", "type": "envelope", "quantity": "speed_mps", "table": {"t_s": [0, 100], "upper": [1e4, 1e4]}}
    d, _, _ = recorded(mission([speed]))
    d.feed([sample(1.0, 1.0)])
    d.advance(10.0)
    assert d.silent_cycles == 0 and d.engine.state.mode[0] == AfssState.ARMED


def test_a_silent_cycle_between_two_samples_of_one_epoch_splits_them():
    """a of T+1.0 received at 1.0, b of the same epoch only at 1.25 (more than one cycle later): the silent
    cycles at 1.1 and 1.2 close the first cycle, so b starts a cycle of its own."""
    d, cycles, samples = recorded(mission())
    d.feed([sample(0.9, 0.9, 0), sample(0.9, 0.9, 1), sample(1.0, 1.0, 0)])
    d.feed([sample(1.0, 1.25, 1)])
    d.close()
    assert samples[-1] == [(1.0, 1)] and d.silent_cycles == 2
    assert np.allclose(cycles, [0.9, 1.0, 1.1, 1.2, 1.25])


def test_a_receive_clock_that_goes_back_restarts_the_schedule():
    """Re-anchored before liftoff: a sample received 'earlier' than the last step restarts the schedule from
    it instead of waiting for the old clock to come round."""
    d, _, _ = recorded(mission())
    d.feed([sample(1.0, 500.0)])
    d.feed([sample(1.1, 1.1)])
    assert d.next_due_s == 1.1 + 0.1


def test_derived_clock_follows_the_log_ignores_glitches_and_never_goes_back():
    """10 Hz times with a real 30 s gap after T+10.0; row 50 glitched to 1e9, rows 70-72 (a burst of three)
    to T+1.0. The clock is the log's own time on every genuine row, the gap included; on a glitched row it
    stays at the last genuine time."""
    t = np.round(np.arange(1, 201) * 0.1, 10)
    t = np.concatenate([t[:100], t[100:] + 30.0])
    glitched = t.copy()
    glitched[50] = 1e9
    glitched[70:73] = 1.0
    clock = derived_receive_clock(glitched)
    genuine = np.ones(t.size, bool)
    genuine[[50, 70, 71, 72]] = False
    np.testing.assert_array_equal(clock[genuine], t[genuine])
    assert clock[50] == t[49] and clock[70] == clock[71] == clock[72] == t[69]
    np.testing.assert_array_equal(derived_receive_clock(t), t)


def test_derived_clock_of_interleaved_sources_a_1_hz_log_and_nan_times():
    """Two sources per epoch (equal times) with a row without a time: every timed row keeps its time, the
    untimed one carries the clock. A 1 Hz log (samples 1 s apart) is followed too."""
    t = np.repeat(np.round(np.arange(1, 11) * 0.1, 10), 2)
    t[7] = np.nan
    clock = derived_receive_clock(t)
    np.testing.assert_array_equal(clock[np.isfinite(t)], t[np.isfinite(t)])
    assert clock[7] == t[6]
    slow = np.arange(0.0, 60.0, 1.0)
    np.testing.assert_array_equal(derived_receive_clock(slow), slow)
