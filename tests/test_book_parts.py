"""The book's offline plumbing: the Vega bundle, the chart renderer, the Sphinx filter, samples."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import altair as alt

from kcl.book import assets, plots, samples, sphinx_offline, vega_mime
from kcl.data import DataConfig


def test_vega_bundle_is_wrapped_and_versioned(tmp_path):
    path = assets.write_vega_bundle(tmp_path / "vega-offline.js")
    text = path.read_text()
    assert f'"vegalite_version": "{alt.VEGALITE_VERSION}"' in text
    assert "(function(){\n" in text and text.rstrip().endswith("})();")
    assert len(text) > 300_000  # vega + vega-lite + vega-embed


def test_charts_are_offline_vega_lite_outputs():
    plots.setup()
    chart = alt.Chart(alt.Data(values=[{"a": 1}])).mark_point().encode(x="a:Q")
    bundle = chart._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert set(data) == {vega_mime.MIME, "text/plain"}
    html = vega_mime.embed_html(data[vega_mime.MIME])
    assert "vegaEmbed(" in html and not re.search(r"https?://(?!vega\.github\.io/schema)", html)


def test_tables_read_as_a_page_shows_them():
    import pandas as pd

    frame = pd.DataFrame({"R": [0.12345, 1.5], "best_lr": [2.5e-3, 0.01], "P": [84640, 117280],
                          "bits": [68912.4, 1234.6], "best_lr_at_edge": [True, False], "lr_tried": ["x" * 80, "y"]},
                         index=[7, 9])
    shown = plots.table(frame)
    assert isinstance(shown, pd.DataFrame) and list(shown.index) == [7, 9]  # the data as it was; the page hides the index
    assert list(shown["P"]) == [84640, 117280]  # read like any frame
    html = shown._repr_html_()  # as a notebook shows it
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", html, flags=re.S)]
    assert cells[:6] == ["R", "best rate", "P (paper's count)", "bits", "best rate at the grid's edge", "rates tried: R"]
    assert cells[6:12] == ["0.123", "0.0025", "84,640", "68,912", "yes", "x" * 80]
    assert "7" not in cells and "9" not in cells  # no index column
    long = pd.DataFrame({"R": [0.5] * 70})
    assert plots.table(long)._repr_html_().count("<tr") == 71  # every row, no "..." row


def test_myst_nb_renderer_handles_only_vega_lite():
    from docutils import nodes

    spec = {"mark": "point", "data": {"values": [{"x": "</script>"}]}}
    data = SimpleNamespace(mime_type=vega_mime.MIME, content=spec, string=json.dumps(spec), output_metadata={})
    (node,) = vega_mime.VegaLiteMimeRenderer.handle_mime(None, data, False)
    assert isinstance(node, nodes.raw) and "<\\/script>" in node.astext() and "</script>" in node.astext()
    assert node.astext().count("</script>") == 1  # the payload cannot close the script early
    other = SimpleNamespace(mime_type="text/html", content="<b>x</b>", string="<b>x</b>", output_metadata={})
    assert vega_mime.VegaLiteMimeRenderer.handle_mime(None, other, False) is None


def test_sphinx_filter_drops_thebe_and_remote_scripts():
    local = SimpleNamespace(filename="_static/vega-offline.js", attributes={})
    thebe = SimpleNamespace(filename=None, attributes={"body": 'const THEBE_JS_URL = "https://unpkg.com/thebe"'})
    remote = SimpleNamespace(filename="https://cdn.jsdelivr.net/npm/x.js", attributes={})
    context = {"script_files": [local, thebe, remote]}
    sphinx_offline.drop_remote_scripts(None, "page", None, context, None)
    assert context["script_files"] == [local]


def test_samples_mark_the_knowledge_tokens():
    config = DataConfig(name="bioS", n_people=20)
    html = samples.marked_html(config, 1)
    text = re.sub(r"<[^>]+>", "", html.split("<p><small>")[0])
    assert text.replace("&#x27;", "'") == samples.sample_text(config, 1)[0]
    assert 'title="name"' in html and 'title="value"' in html and 'title="gender"' in html


def test_a_figure_and_its_interval_share_one_column_on_the_page():
    import pandas as pd

    frame = pd.DataFrame({"model": ["a", "b"], "R": [1.23456, 0.5], "R_low": [1.1, float("nan")], "R_high": [1.3, 0.6],
                          "R_widened": [1.4, 0.7], "R_low_widened": [1.35, 0.65], "R_high_widened": [1.45, 0.75]})
    shown = plots.with_intervals(frame)
    assert list(shown.columns) == ["model", "R [95%]", "R_widened [95%]"]
    assert list(shown["R [95%]"]) == ["1.235 [1.100, 1.300]", "0.500"]  # a missing bound: the figure alone
    assert shown.loc[1, "R_widened [95%]"] == "0.700 [0.650, 0.750]"
    html = plots.table(frame)._repr_html_()
    assert "R [95% interval]" in html and "1.235 [1.100,\u00a01.300]" in html and "95% low" not in html
    assert 'class="dataframe kcl-table kcl-wrap"' in html  # few columns: its cells wrap to fit the column
    wide = pd.DataFrame({f"field {i}": [i] for i in range(plots.WRAP_COLUMNS + 1)})
    assert 'class="dataframe kcl-table"' in plots.table(wide)._repr_html_()  # every run's fields: one line each
    assert 'class="dataframe kcl-table"' in plots.table(frame, wrap=False)._repr_html_()  # wide timings: asked
    assert list(plots.table(frame).columns) == list(frame.columns)  # code still reads the fields
    assert list(plots.with_intervals(frame[["model", "R", "R_low"]]).columns) == ["model", "R", "R_low"]
    # a model's option list and a path may break after a comma or slash; a number never does
    cells = plots.table(pd.DataFrame({"model": ["d=16,init=torch"], "sweep": ["sweeps/gpu/a.yaml"],
                                      "data": ["N=1,000"], "mlp": ["1/4 MLP"]}))._repr_html_()
    assert ",\u200binit=torch" in cells and "sweeps/\u200bgpu/\u200ba.yaml" in cells
    assert "moe_\u200beval_\u200bcapacity" in plots.table(pd.DataFrame({"model": ["moe_eval_capacity=8"]}))._repr_html_()
    assert "N=1,000" in cells and "1/4 MLP" in cells
