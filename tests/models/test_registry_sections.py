"""Every registered network names where the review presents it and which paper it follows."""

from __future__ import annotations

import re

import pytest

from medsr.models.registry import MODELS

#: the review's sections (Li, Sixou & Peyrin, IRBM 2021): 3.3 losses, 3.4.1-3.4.7 network designs,
#: 4 (and its subsections) medical methods, 5 challenges; 2.x for the general SR problem.
SECTION = re.compile(r"^(2(\.\d)?|3\.3|3\.4\.[1-7]|4(\.\d(\.\d)?)?|5(\.\d)?)$")

#: sections the issue (#10) states from the review
STATED = {
    "edsr": "3.4.4",
    "srresnet": "3.4.7",
    "rrdbnet": "3.4.7",
    "srgan_d": "3.4.7",
    "esrgan_d": "3.4.7",
    "dilated_sr": "3.4.6",
    "ddpn": "3.4.6",
    "drcn": "3.4.2",
    "drrn": "3.4.2",
}

#: registry name -> words its citation must contain (the review's reference for that method)
CITED = {
    "lgrl_sr": ("Shi et al.", "residual learning"),
    "csn": ("Zhao et al.", "Channel splitting"),
    "unet_sr": ("Park et al.", "Computed tomography"),
    "saa": ("Zhao et al.", "anti-aliasing self super-resolution", "2018"),
    "smore": ("Zhao et al.", "SMORE"),
    "guided_fusion": ("Lin et al.", "guided by an RGB image"),
}


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_has_a_review_section_and_a_citation(name: str) -> None:
    info = MODELS.info(name)
    assert SECTION.match(info.review_section), (name, info.review_section)
    assert len(info.paper) > 10 and re.search(r"[A-Z][a-z]+", info.paper), (name, info.paper)
    assert 1990 <= info.year <= 2030, (name, info.year)


def test_sections_stated_by_the_issue() -> None:
    assert {n: MODELS.info(n).review_section for n in STATED} == STATED


@pytest.mark.parametrize("name", sorted(CITED))
def test_citations_name_the_reviews_reference(name: str) -> None:
    paper = MODELS.info(name).paper
    for word in CITED[name]:
        assert word in paper, (name, word, paper)
