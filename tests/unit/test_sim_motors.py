"""RASP .eng reader and writer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rangeguard.errors import InputError
from rangeguard.sim.motors import EngMotor, parse_eng, read_eng, write_eng

SAMPLE = """; a comment before the header
; second comment
TEST-M1 75 500 0-6-P 1.2 2.5 Maker
 0.1 100.0
 0.5 200.0   ; trailing comment
 1.0 0.0
"""


def test_parse_header_and_points():
    m = parse_eng(SAMPLE)
    assert (m.name, m.diameter_mm, m.length_mm, m.delays, m.propellant_kg, m.total_kg, m.maker) == (
        "TEST-M1",
        75.0,
        500.0,
        "0-6-P",
        1.2,
        2.5,
        "Maker",
    )
    # RASP implies a (0, 0) point before the first sample
    np.testing.assert_array_equal(m.t_s, [0.0, 0.1, 0.5, 1.0])
    np.testing.assert_array_equal(m.thrust_n, [0.0, 100.0, 200.0, 0.0])
    # hand calculation, trapezoids: 0.1*50 + 0.4*150 + 0.5*100 = 5 + 60 + 50
    assert m.total_impulse_ns == pytest.approx(115.0)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("A 1 2 3\n0.1 1\n", "line 1"),
        ("A 75 500 0 1 2 M\n0.1 x\n", "line 2"),
        ("A 75 500 0 1 2 M\n0.2 1\n0.1 1\n", "line 3"),
        ("A 75 500 0 1 2 M\n0.1 -5\n", "line 2"),
        ("; only comments\n", "no header"),
    ],
)
def test_errors_name_the_line(text, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_eng(text, "m.eng")


def test_bundled_sounding_motor_is_consistent():
    m = read_eng("missions/motors/rg-snd30.eng")
    # 1.45132 MN s by hand: 0.3*31200/2 + 9.7*31200 + 30*(31200+20800)/2 + 18*(20800+17680)/2 + 2*17680/2
    hand = 0.3 * 31200 / 2 + 9.7 * 31200 + 30 * 26000 + 18 * 19240 + 17680
    assert m.total_impulse_ns == pytest.approx(hand)
    assert m.burn_time_s == 60.0


@settings(max_examples=40, deadline=None)
@given(
    thrusts=st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=2, max_size=30).filter(lambda f: max(f) > 0),
    step=st.floats(0.01, 5.0),
)
def test_round_trip_preserves_total_impulse(tmp_path_factory, thrusts, step):
    t = np.cumsum(np.full(len(thrusts), step))
    motor = EngMotor("X", 100.0, 1000.0, "0", 5.0, 9.0, "rg", t, np.asarray(thrusts))
    path = tmp_path_factory.mktemp("eng") / "m.eng"
    write_eng(motor, path)
    back = read_eng(path)
    # the reader prepends (0, 0); the impulse of that first segment is added on both sides
    expected = np.trapezoid(np.r_[0.0, thrusts], np.r_[0.0, t])
    assert back.total_impulse_ns == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert (back.propellant_kg, back.total_kg) == (5.0, 9.0)
