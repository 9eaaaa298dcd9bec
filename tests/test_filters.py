"""The One Euro filter: a number goes through the same steps as an array (the rep counters filter one number
per frame, the fast way), NaN gaps and uneven timestamps included."""
from __future__ import annotations

import numpy as np

from coach.filters import OneEuroFilter


def test_a_number_is_filtered_as_an_array_of_one_is():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.01, 0.1, 400))  # an uneven rate
    x = np.sin(t * 3) + rng.normal(0, 0.05, t.size) + np.where(t > 10, 2.0, 0.0)  # and a jump
    x[[50, 51, 52, 200]] = np.nan  # out of sight
    t[300] = t[299]  # a repeated timestamp restarts the filter
    for beta in (0.0, 0.5):
        as_number, as_array = OneEuroFilter(1.5, beta), OneEuroFilter(1.5, beta)
        got = [as_number(float(v), float(s)) for v, s in zip(x, t)]
        want = [float(as_array(np.array([v]), float(s))[0]) for v, s in zip(x, t)]
        assert all(isinstance(g, float) for g in got)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
        smooth = np.array(got)[60:200]
        assert np.nanstd(np.diff(smooth)) < np.nanstd(np.diff(x[60:200]))  # it does smooth
