"""``medsr.plotting``: figures drawn without a display and written whole or not at all."""

from __future__ import annotations

import matplotlib
import pytest
from PIL import Image

from medsr.plotting import agg_pyplot, save_figure


def test_save_figure_writes_a_png_and_closes_the_figure(tmp_path) -> None:
    plt = agg_pyplot()
    assert matplotlib.get_backend().lower() == "agg"
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "f.png")
    with Image.open(tmp_path / "f.png") as im:
        assert im.format == "PNG" and im.size == (150, 100)
    assert not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]  # no temporary left


def test_a_failing_draw_leaves_no_file(tmp_path) -> None:
    plt = agg_pyplot()
    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "$\\notacommand$")  # mathtext fails when the figure is drawn
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []
    assert not plt.fignum_exists(fig.number)
