"""The review widget: buttons, keys and the filter drive the session and redraw."""

from __future__ import annotations

import builtins

import pytest

from qualcode.errors import DependencyError
from qualcode.model import Coding

pytest.importorskip("ipywidgets")  # the notebook extra; CI installs it


@pytest.fixture
def widget(project):
    from qualcode.widgets import review_widget

    def at(doc, words, code):
        start = project.documents[doc].text.index(words)
        return Coding(doc, start, start + len(words), code, "rules", method="rules",
                      status="suggested", confidence=0.5, reason="matched")

    project.add_codings([at("d1", "He was absent all week.", "attendance"),
                         at("d1", "Mum put the kettle on.", "tea"),
                         at("d2", "We went because of attendance.", "attendance")])
    return review_widget(project, reviewer="alice")


def test_buttons_decide_and_redraw(widget, project):
    assert widget.progress_text.value == "0 of 3 reviewed, 3 to go"
    assert 'data-coding-id="1"' in widget.card.value
    widget.buttons["accept"].click()
    assert project.coding(1).status == "accepted"
    assert widget.progress.value == 1 and widget.progress.max == 3
    assert 'data-coding-id="2"' in widget.card.value
    assert widget.status.value == "Accepted coding 1."
    widget.new_code.value = "attendance"
    widget.buttons["recode"].click()
    assert project.coding(2).status == "rejected"
    assert widget.status.value == "Changed to attendance coding 2."
    widget.buttons["undo"].click()
    assert project.coding(2).status == "suggested"
    widget.buttons["reject"].click()
    widget.buttons["skip"].click()
    assert "Review done." in widget.card.value
    assert widget.buttons["accept"].disabled and not widget.buttons["undo"].disabled


def test_keys_box(widget, project):
    widget.keys.value = "r"
    assert project.coding(1).status == "rejected" and widget.keys.value == ""
    widget.keys.value = "u"
    assert project.coding(1).status == "suggested"
    widget.keys.value = "z"
    assert "Unknown key &#x27;z&#x27;: a = accept" in widget.status.value


def test_errors_show_in_the_widget(widget):
    widget.new_code.value = "attendance"
    widget.buttons["recode"].click()  # the first item already has that code
    assert "accept it instead" in widget.status.value


def test_filter_by_code(widget):
    widget.show.value = "tea"
    assert widget.session.queue == (2,)
    assert widget.progress_text.value == "0 of 1 reviewed, 1 to go"
    widget.show.value = "visits"  # a theme: its codes
    assert widget.session.queue == (1, 2, 3)


def test_display_bundle(widget):
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(widget) == "<ReviewWidget 0 of 3 reviewed, 3 to go>"


def test_missing_ipywidgets_names_the_extra(project, monkeypatch):
    from qualcode import widgets

    real_import = builtins.__import__

    def no_ipywidgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("No module named 'ipywidgets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipywidgets)
    with pytest.raises(DependencyError, match=r"qualcode\[notebook\]"):
        widgets.review_widget(project, reviewer="alice")
