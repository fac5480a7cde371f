"""Tests for admin/charts.py: well-formed SVG, one rect per non-zero value, stacked in order, escaped."""

import xml.etree.ElementTree as ET

import pytest
from django.utils.safestring import SafeString

from django_zoomconnect.admin.charts import Bar, Series, nice_ceiling, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
SERIES = [Series("DELIVERED", "Delivered", "#1b7837"), Series("FAILED", "Failed", "#d6604d")]


def parse(markup):
    return ET.fromstring(str(markup))  # noqa: S314  (our own markup)


def rects(root):
    return root.findall(f".//{SVG}rect")


def bars(*values):
    return [Bar(f"{i + 1} Mar", f"Day {i + 1}", counts) for i, counts in enumerate(values)]


def test_the_chart_is_well_formed_svg_with_one_rect_per_non_zero_value():
    chart = stacked_bars(
        bars({"DELIVERED": 3, "FAILED": 1}, {}, {"DELIVERED": 0, "FAILED": 2}, {"DELIVERED": 8}),
        SERIES,
        title="Sent per day",
    )
    assert isinstance(chart, SafeString)
    root = parse(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 720 220"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Sent per day"
    found = [(rect.get("data-series"), rect.find(f"{SVG}title").text) for rect in rects(root)]
    assert found == [
        ("DELIVERED", "Day 1: 3 Delivered"),
        ("FAILED", "Day 1: 1 Failed"),
        ("FAILED", "Day 3: 2 Failed"),
        ("DELIVERED", "Day 4: 8 Delivered"),
    ]
    assert len(root.findall(f"{SVG}g")) == 4  # a group per bar, empty or not


def test_values_stack_from_the_baseline_in_series_order_to_scale():
    root = parse(stacked_bars(bars({"DELIVERED": 6, "FAILED": 2}), SERIES, title="t", width=300, height=134))
    delivered, failed = rects(root)
    # The plot is 100 high (134 less margins of 10 and 24); the axis tops at 8 (steps of 2).
    assert float(delivered.get("height")) == pytest.approx(75.0)
    assert float(failed.get("height")) == pytest.approx(25.0)
    assert float(delivered.get("y")) + float(delivered.get("height")) == pytest.approx(110.0)
    assert float(failed.get("y")) + float(failed.get("height")) == pytest.approx(float(delivered.get("y")))
    assert float(failed.get("y")) == pytest.approx(10.0)
    assert float(delivered.get("width")) > 0


def test_a_tiny_value_beside_a_huge_one_is_still_visible():
    root = parse(stacked_bars(bars({"DELIVERED": 100000, "FAILED": 1}), SERIES, title="t"))
    assert float(rects(root)[1].get("height")) == 1.0


def test_text_is_escaped_and_the_svg_stays_well_formed():
    evil = '<script>alert("x")</script> & co'
    chart = stacked_bars([Bar(evil, evil, {"DELIVERED": 1})], [Series("DELIVERED", evil, "#000")], title=evil)
    assert "<script>" not in chart
    root = parse(chart)
    assert root.find(f"{SVG}title").text == evil
    assert rects(root)[0].find(f"{SVG}title").text == f"{evil}: 1 {evil}"


def test_no_values_draw_the_axes_and_say_so():
    root = parse(stacked_bars(bars({}, {"DELIVERED": 0}), SERIES, title="t", empty_text="Nothing sent"))
    assert rects(root) == []
    assert [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "empty"] == ["Nothing sent"]


def test_every_fifth_bar_is_labelled_counting_from_today():
    root = parse(stacked_bars(bars(*[{} for _ in range(30)]), SERIES, title="t"))
    labels = [
        text.text
        for text in root.iter(f"{SVG}text")
        if text.get("text-anchor") == "middle" and text.get("class") != "empty"
    ]
    assert labels == ["5 Mar", "10 Mar", "15 Mar", "20 Mar", "25 Mar", "30 Mar"]


@pytest.mark.parametrize(
    ("peak", "top", "step"),
    [(0, 4, 1), (1, 1, 1), (3, 3, 1), (7, 8, 2), (10, 10, 5), (99, 100, 50), (1234, 1500, 500)],
)
def test_the_axis_tops_at_a_round_number(peak, top, step):
    assert nice_ceiling(peak) == (top, step)
