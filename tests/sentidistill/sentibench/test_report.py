from sentidistill.sentibench.report import plot_categories, table2_markdown


def _res(avg, imdb):
    return {"datasets": {"imdb": {"f1": imdb, "f1_std": 1.0}}, "categories": {"BSA": imdb}, "avg": avg}


def test_table2_has_every_dataset_column_and_deltas_against_the_baseline():
    md = table2_markdown({"base": _res(50.0, 60.0), "distilled": _res(55.5, 70.0)}, baseline="base")
    header = md.splitlines()[0]
    for col in [
        "IMDb",
        "Yelp2",
        "SST2",
        "Twitter",
        "Irony",
        "Emoti.",
        "Stance",
        "Intim.",
        "ATSA",
        "ACSA",
        "ASQP",
        "SSA",
        "BSA",
        "MSA",
        "FSA",
        "Avg",
    ]:
        assert f" {col} " in header
    distilled = md.splitlines()[3]
    assert "70.00 (+10.00)" in distilled and "55.50 (+5.50)" in distilled
    assert "(+" not in md.splitlines()[2]  # no delta on the baseline row


def test_plot_is_written_as_png_and_svg(tmp_path):
    files = plot_categories({"base": _res(50.0, 60.0)}, tmp_path / "cats")
    assert [f.suffix for f in files] == [".png", ".svg"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in files[1].read_text()
