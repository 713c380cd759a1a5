"""The colours of every map and chart, chosen in one place so that anyone can read them.

About one man in twelve and one woman in two hundred in Britain has a
red-green colour-vision deficiency. Every ramp here is therefore either

- **cividis** (Nuñez, Anderton and Renslow 2018, "Optimizing colormaps with
  consideration for color vision deficiency", PLOS ONE 13(7): e0199239): a
  blue-to-yellow ramp made so that lightness rises evenly and looks the same to
  people with and without deuteranopia or protanopia. It is used for the
  travel-time classes, which have the most classes (seven) and are the maps
  planners read most; or
- a **ColorBrewer** single-hue sequential ramp (Harrower and Brewer 2003,
  colorbrewer2.org, "colorblind safe"): Blues for values that are better when
  higher (places per child, choice), Purples for values that are worse when
  higher (extra minutes); light means little, dark means much; or
- for categories with no order (provider kinds, competition flags,
  eligibility), the **Okabe-Ito** palette (Okabe and Ito 2008, "Color
  Universal Design"), made to be told apart under every common deficiency,
  and always with a second cue (a letter, a dash, a label).

Missing data are never a colour alone: "no journey" and "not known" are a grey
with dark hatching (:data:`HATCH_ID`, an SVG pattern every map page defines),
and gap areas a heavy dashed black outline; every legend names both.

How distinguishable is enough
-----------------------------
:data:`MIN_DELTA_E` is the smallest colour difference allowed between two
classes next to each other in a legend, after simulating deuteranopia and
protanopia at full severity (Machado, Oliveira and Fernandes 2009, as
``colorspacious`` implements it) and measuring in CAM02-UCS (Luo, Cui and Li
2006). CAM02-UCS is scaled so that a difference of about 1 is just noticeable
between large patches side by side; map classes are small, scattered polygons
compared with a legend some distance away, and Szafir (2018, "Modeling color
difference for visualization design", IEEE TVCG 24(1)) found that marks in
charts need differences several times the just-noticeable one to be told apart
reliably. 10 units keeps that margin (ColorBrewer's five-class Blues fails it
at its light end under protanopia, 9.7, which is why its nine-class steps are
used here). ``tests/test_palettes.py`` checks every palette against it.
"""

from __future__ import annotations

from typing import Any

#: Smallest CAM02-UCS difference between adjacent legend classes under
#: simulated deuteranopia and protanopia (severity 100); see the module notes.
MIN_DELTA_E = 10.0

#: Deficiencies simulated by the test of every palette (colorspacious names;
#: at severity 100 these are deuteranopia and protanopia).
SIMULATED_DEFICIENCIES = ("deuteranomaly", "protanomaly")

# --------------------------------------------------------------------------- sequential ramps

#: Travel-time classes, shortest first: seven steps of cividis (reversed, light
#: yellow for short journeys to dark blue for the longest), sampled at 0, 0.153,
#: ..., 0.92 of the ramp so that the darkest class stays distinct from the
#: outline colour.
TRAVEL_TIME = ("#fee838", "#d5c25e", "#aca172", "#868379", "#636670", "#3e4b6c", "#003070")

#: Values that are better when higher (places per child, choice), few to many:
#: ColorBrewer "Blues", the odd steps of its nine-class ramp.
MORE_IS_BETTER = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")

#: Values that are worse when higher (extra minutes to a good provider), little
#: to much: ColorBrewer "Purples", five classes.
MORE_IS_WORSE = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")

#: Isochrone bands, nearest first: :data:`MORE_IS_BETTER` from dark to light.
REACH_BANDS = tuple(reversed(MORE_IS_BETTER))

#: Coverage of areas before and after new sites (ColorBrewer Blues and Oranges;
#: "newly covered" is also outlined heavy black).
SITE_STATUS = {
    "covered": "#c6dbef",
    "newly covered": "#08306b",
    "not covered": "#fdae6b",
}

#: Sufficiency flags (ColorBrewer PuOr, diverging and colour-blind safe):
#: shortfall, tight, balanced, surplus. "Not known" is :data:`NO_DATA`, hatched.
SUFFICIENCY = {
    "shortfall": "#e66101",
    "tight": "#fdb863",
    "balanced": "#f7f7f7",
    "surplus": "#5e3c99",
}

#: Home-to-school transport eligibility (Okabe-Ito), in legend order; "not
#: assessed" is :data:`NO_DATA`, hatched.
ELIGIBILITY = {
    "all": "#D55E00",
    "some": "#E69F00",
    "none": "#56B4E9",
    "check": "#CC79A7",
}

# --------------------------------------------------------------------------- categories

#: Marker colour per provider kind (Okabe-Ito), always with a letter as well.
KIND = {
    "early_years": "#CC79A7",
    "primary": "#0072B2",
    "secondary": "#009E73",
    "sixth_form": "#D55E00",
    "college": "#E69F00",
    "special": "#56B4E9",
    "stop": "#e7298a",
}

#: Post-16 competition flags (Okabe-Ito), each also with its own marker outline.
COMPETITION = {
    "small_and_covered": "#D55E00",
    "small": "#E69F00",
    "other": "#0072B2",
    "unknown": "#999999",
}

#: A new route, its stops and the areas that gain from it: ColorBrewer Dark2
#: magenta, drawn heavy; cividis has no magenta, so it stands out over every
#: travel-time class.
ROUTE = "#e7298a"

#: Outlines of the post-16 barrier flags (each also has its own dash pattern).
FLAG_OUTLINE = {"no_pt": "#000000", "pt_over": "#7b3294", "pt_vs_car": "#0571b0"}

#: Outline of areas whose value is only partly known (a lower bound), dashed.
PARTIAL = "#b35806"

#: Bars of the journey-time charts by mode: steps of cividis told apart by
#: lightness alone, each with its own hatching as well.
MODE = {"walk": "#00224e", "bike": "#575d6d", "car": "#a59c74", "pt": "#fee838"}

# --------------------------------------------------------------------------- missing data, outlines

#: Fill of the council boundaries drawn under every map: a pale paper colour,
#: lighter than every data class.
BASE = "#f2efe9"

#: Fill under the hatching of areas with no journey or no value.
NO_DATA = "#bdbdbd"
#: Colour of the hatching lines.
HATCH_INK = "#3d3d3d"
#: Id of the SVG pattern (grey with dark diagonal lines) each map page defines.
HATCH_ID = "gm-hatch"
#: Leaflet ``fillColor`` of a hatched area.
HATCH_FILL = f"url(#{HATCH_ID})"
#: CSS ``background`` of a hatched legend swatch, drawn like the map's pattern.
HATCH_CSS = f"repeating-linear-gradient(45deg, {HATCH_INK} 0 1.5px, {NO_DATA} 1.5px 5px)"

#: Outline of gap areas (beyond the threshold): heavy, dashed, black.
#: Leaflet's own default path colour: what a page draws where a layer's style
#: names none, and so what a figure of that page draws too.
LEAFLET_DEFAULT = "#3388ff"

GAP_OUTLINE: dict[str, Any] = {"color": "#000000", "weight": 3, "dashArray": "6 4", "fill": False}
#: Outline of areas with no value: dotted, dark grey.
UNKNOWN_OUTLINE: dict[str, Any] = {"color": "#444444", "weight": 1.5, "dashArray": "1 4"}

#: Every sequential or categorical set of data classes, in legend order, for
#: the colour-vision test (the hatched missing-data class ends each legend).
LEGENDS: dict[str, tuple[str, ...]] = {
    "travel time": (*TRAVEL_TIME, NO_DATA),
    "more is better": (*MORE_IS_BETTER, NO_DATA),
    "more is worse": (*MORE_IS_WORSE, NO_DATA),
    "reach bands": REACH_BANDS,
    "site status": tuple(SITE_STATUS.values()),
    "sufficiency": (*SUFFICIENCY.values(), NO_DATA),
    "eligibility": (*ELIGIBILITY.values(), NO_DATA),
    "competition": tuple(COMPETITION.values()),
    "modes": tuple(MODE.values()),
}


def swatch_css(colour: str) -> str:
    """The CSS ``background`` of a legend swatch for a fill colour (hatched for missing data).

    Parameters
    ----------
    colour
        A fill colour as given to Leaflet: a hex colour or :data:`HATCH_FILL`.

    Returns
    -------
    str
        ``colour`` itself, or :data:`HATCH_CSS` for the hatch pattern.
    """
    return HATCH_CSS if colour == HATCH_FILL else colour


def hatch_svg() -> str:
    """An invisible SVG defining the hatch pattern that missing-data areas are filled with.

    Returns
    -------
    str
        Markup for the page body; Leaflet paths refer to it as :data:`HATCH_FILL`.
    """
    return (
        '<svg aria-hidden="true" focusable="false" width="0" height="0" '
        'style="position:absolute;width:0;height:0;overflow:hidden">'
        f'<defs><pattern id="{HATCH_ID}" patternUnits="userSpaceOnUse" width="6" height="6" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{NO_DATA}"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HATCH_INK}" stroke-width="2"/>'
        "</pattern></defs></svg>"
    )
