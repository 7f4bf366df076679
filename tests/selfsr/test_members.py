"""Self-SR networks trained side by side (``members``): same voxels wherever they run."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.bench.selfsr import simulate_thick_slices
from medsr.errors import MedsrError
from medsr.selfsr import SelfSRConfig
from medsr.selfsr import self_super_resolve as _self_super_resolve
from medsr.selfsr.members import MemberResult, average_views, member_seed, workers
from medsr.volume import TargetGrid

TINY = {"model_kwargs": {"channels": 16, "blocks": 2}, "patch": 24, "batch": 4, "seed": 5}


@pytest.fixture(scope="module")
def case(brain_crop):
    crop = brain_crop.with_data(np.ascontiguousarray(brain_crop.data[:, 8:40, 8:40, 8:40]))
    return simulate_thick_slices(crop, axis=2, factor=4.0)


def _run(case, **options):
    config = SelfSRConfig(budget="12it", **{**TINY, **options})
    return _self_super_resolve(case.lr, TargetGrid.from_factors(case.lr, case.factors), config)


def test_members_give_the_same_voxels_in_a_worker_or_one_after_the_other(case) -> None:
    (par, info), (seq, info_seq) = (
        _run(case, members=2, member_processes=2),
        _run(case, members=2, member_processes=1),
    )
    np.testing.assert_array_equal(par.data, seq.data)
    records = info["stages"][0]["members"]
    assert [r["member"] for r in records] == [0, 1]
    assert [r["process"] for r in records] == ["main", "worker"]
    assert [r["process"] for r in info_seq["stages"][0]["members"]] == ["main", "main"]
    assert records[0]["seed"] == 5 and records[1]["seed"] == member_seed(5, 1, 0) != 5
    assert all(r["iterations"] == 12 for r in records) and info["members"] == 2


def test_one_member_is_the_single_network_and_two_differ_from_it(case) -> None:
    one, info = _run(case, members=1)
    assert info["stages"][0]["members"] is None and info["stages"][0]["iterations"] == 12
    two, _ = _run(case, members=2, member_processes=1)
    assert not np.array_equal(one.data, two.data)  # the second network is averaged in
    with pytest.raises(MedsrError, match="members"):
        SelfSRConfig(members=0)


def test_views_are_averaged_over_the_members_whose_network_was_used() -> None:
    rng = np.random.default_rng(0)
    a = [rng.random((1, 4, 5, 6), dtype=np.float32) for _ in range(2)]
    b = [rng.random((1, 4, 5, 6), dtype=np.float32) for _ in range(2)]
    got = average_views([MemberResult(a), MemberResult(None), MemberResult(b)])
    assert got is not None and len(got) == 2
    for view, x, y in zip(got, a, b, strict=True):
        np.testing.assert_allclose(view, (x + y) / 2, rtol=1e-6)
    np.testing.assert_array_equal(a[0], average_views([MemberResult(a)])[0])  # inputs kept
    assert average_views([MemberResult(None)]) is None


def test_member_seeds_and_worker_counts() -> None:
    seeds = {member_seed(0, k, s) for k in (1, 2, 3) for s in (0, 1)}
    assert len(seeds) == 6 and member_seed(0, 1, 0) == member_seed(0, 1, 0)
    assert member_seed(None, 1) is None
    assert workers(2, 1) == 1 and workers(2, 8) == 2 and workers(3) >= 1


def test_a_large_task_keeps_its_members_in_this_process(case, monkeypatch) -> None:
    """Each worker holds a copy of the pairs: above TASK_BYTES_MAX the members run here, one after
    the other, with the same voxels."""
    from medsr.selfsr import members

    small, _ = _run(case, members=2, member_processes=2)
    monkeypatch.setattr(members, "TASK_BYTES_MAX", 1)
    big, info = _run(case, members=2, member_processes=2)
    assert [r["process"] for r in info["stages"][0]["members"]] == ["main", "main"]
    np.testing.assert_array_equal(small.data, big.data)


def test_a_worker_that_dies_gives_a_one_line_error(case, monkeypatch, tmp_path) -> None:
    import subprocess
    import sys

    from medsr.selfsr import members

    def dying(folder, task, shares):
        cmd = [sys.executable, "-c", "import sys; sys.exit('MemoryError: worker out of memory')"]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        return [(proc, tmp_path / "never.pkl")]

    monkeypatch.setattr(members, "_start_workers", dying)
    with pytest.raises(MedsrError, match="worker out of memory.*members=1"):
        _run(case, members=2, member_processes=2)


def test_a_script_without_a_main_guard_runs_its_members_in_workers(tmp_path) -> None:
    """The worker imports only medsr: a user's script with no ``if __name__ == "__main__"``
    guard is not run again (multiprocessing's spawn / forkserver would re-import it)."""
    import subprocess
    import sys

    marker = tmp_path / "runs.txt"
    script = tmp_path / "plain.py"
    script.write_text(
        "import numpy as np\n"
        "from medsr.data import sample\n"
        "from medsr.bench.selfsr import simulate_thick_slices\n"
        "from medsr.selfsr import SelfSRConfig, self_super_resolve\n"
        "from medsr.volume import TargetGrid\n"
        f"open({str(marker)!r}, 'a').write('run\\n')\n"
        "b = sample('brain')\n"
        "c = b.with_data(np.ascontiguousarray(b.data[:, 50:82, 60:92, 60:92]))\n"
        "case = simulate_thick_slices(c, axis=2, factor=4.0)\n"
        "cfg = SelfSRConfig(budget='4it', patch=24, batch=2, members=2, member_processes=2,\n"
        "                   model_kwargs={'channels': 8, 'blocks': 1})\n"
        "grid = TargetGrid.from_factors(case.lr, case.factors)\n"
        "out, info = self_super_resolve(case.lr, grid, cfg)\n"
        "print([m['process'] for m in info['stages'][0]['members']])\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['main', 'worker']" in done.stdout
    assert marker.read_text() == "run\n"  # the script ran once
