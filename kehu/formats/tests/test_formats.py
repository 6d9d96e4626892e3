"""Every date and datetime input of the project renders ISO values, which is all that
<input type=date> / <input type=datetime-local> accept, in both languages; typed Chinese dates still parse;
displayed dates stay Chinese."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil

import pytest
from django import forms
from django.utils import formats, translation

import kehu

DAY = dt.date(2026, 11, 28)
MOMENT = dt.datetime(2026, 11, 28, 9, 30)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_date_and_datetime_widgets_render_iso(lang):
    with translation.override(lang):
        assert 'value="2026-11-28"' in forms.DateInput(attrs={"type": "date"}).render("d", DAY)
        assert 'value="2026-11-28T09:30"' in forms.DateTimeInput(
            attrs={"type": "datetime-local"}).render("t", MOMENT)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_what_the_browser_sends_parses(lang):
    with translation.override(lang):
        assert forms.DateField().clean("2026-11-28") == DAY
        assert forms.DateTimeField().clean("2026-11-28T09:30").replace(tzinfo=None) == MOMENT


def test_typed_chinese_dates_still_parse():
    with translation.override("zh-hans"):
        for text in ("2026/11/28", "2026年11月28日"):
            assert forms.DateField().clean(text) == DAY


def test_displayed_dates_stay_chinese():
    with translation.override("zh-hans"):
        assert formats.date_format(DAY) == "2026年11月28日"


def _forms_modules():
    for info in pkgutil.walk_packages(kehu.__path__, "kehu."):
        if info.name.endswith(".forms") or info.name.endswith(".web"):
            yield importlib.import_module(info.name)


def test_no_form_pins_a_non_iso_format_on_a_date_input():
    """A widget's own format wins over the locale's: one set to anything but ISO would be blank again."""
    found = 0
    with translation.override("zh-hans"):
        for module in _forms_modules():
            for obj in vars(module).values():
                if not (isinstance(obj, type) and issubclass(obj, forms.BaseForm)):
                    continue
                for name, field in obj.base_fields.items():
                    widget = field.widget
                    kind = getattr(widget, "input_type", None)
                    if kind == "date":
                        found += 1
                        assert 'value="2026-11-28"' in widget.render(name, DAY), (obj, name)
                    elif kind == "datetime-local":
                        found += 1
                        assert 'value="2026-11-28T09:30"' in widget.render(name, MOMENT), (obj, name)
    assert found >= 5
