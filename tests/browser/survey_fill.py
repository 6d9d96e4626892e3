"""Answering a questionnaire on the public page, shared by the survey journeys."""

from __future__ import annotations


def fill_survey(page, questionnaire, *, nps: int, rating_10: int, price: int, text: str, option: int = 0,
                matrix: int = 4, rating_5: int = 4) -> None:
    """Answer every question of ``questionnaire`` on ``page``: each matrix row at ``matrix``, the NPS question
    at ``nps``, 10-point ratings at ``rating_10``, 5-point ratings at ``rating_5`` except the price dimension at
    ``price``, choice questions with the option at index ``option`` (-1: the last), free text with ``text``."""
    for x in questionnaire.questions.order_by("position"):
        name = f"q{x.pk}"
        if x.kind == "matrix":
            for o in x.options:
                page.get_by_test_id(f"answer-{name}-{o['value']}-{matrix}").check()
        elif x.kind == "nps":
            page.get_by_test_id(f"answer-{name}-{nps}").click()
        elif x.kind == "rating_10":
            page.get_by_test_id(f"answer-{name}-{rating_10}").click()
        elif x.kind == "rating_5":
            page.get_by_test_id(f"answer-{name}-{price if x.dimension == 'product_price' else rating_5}").click()
        elif x.kind in ("single", "multiple"):
            page.get_by_test_id(f"answer-{name}-{x.options[option]['value']}").check()
        elif x.kind == "text":
            page.get_by_test_id(f"answer-{name}").fill(text)
