"""The access report on SQLite (`make run`) computes PostgreSQL's percentile_cont in Python."""
from reports.selectors import _percentile_cont


def test_it_interpolates_between_ranks_as_percentile_cont_does():
    # SELECT percentile_cont(0.5|0.9) WITHIN GROUP (ORDER BY x) FROM unnest('{4,1,3,2}') x
    assert _percentile_cont([4, 1, 3, 2], 0.5) == 2.5
    assert abs(_percentile_cont([4, 1, 3, 2], 0.9) - 3.7) < 1e-9
    assert _percentile_cont([7], 0.9) == 7
    assert _percentile_cont([], 0.5) is None
