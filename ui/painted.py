"""A one-time signal from the browser that it has drawn the page's first chart.

Streamlit has no "after paint" event, and a fragment's timer fires while the browser still
downloads Plotly's code (about 5 MB), so a page that sends its charts first and the rest on
a timer still reaches the browser in one batch. This inline component (Streamlit's own
components v2: no iframe, so its script sees the page) waits until a Plotly chart on the page
has data and a layout, or `limit_s` passed, and then triggers one rerun of the fragment it is
placed in (of the whole page outside any fragment). Hand-written because no library offers it.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function ({ parentElement, data, setTriggerValue }) {
  if (parentElement.__painted) return;
  parentElement.__painted = true;
  const start = performance.now();
  const drawn = () => [...document.querySelectorAll('.js-plotly-plot')]
    .some((el) => el.data && el.data.length && el._fullLayout);
  let timer = null;
  const wait = () => {
    if (drawn() || performance.now() - start > data.limit_ms) {
      setTriggerValue('painted', true);
      return;
    }
    timer = setTimeout(wait, 50);
  };
  wait();
  return () => clearTimeout(timer);
}
"""

_painted = st.components.v2.component("tuning_studio_painted", js=_JS)


def when_painted(key: str, limit_s: float = 8.0) -> None:
    """Rerun the enclosing fragment (or the page) once the browser has drawn a chart (or after
    `limit_s`)."""
    _painted(key=key, data={"limit_ms": int(limit_s * 1000)}, on_painted_change=lambda: None)
