"""Tuning Studio: hyperparameter tuning in the browser. Run: streamlit run app.py"""

import streamlit as st

from ui import layout

st.set_page_config(page_title="Tuning Studio", page_icon=":material/tune:", layout="wide")

# Pages live in app_pages/, not pages/: Streamlit treats a pages/ folder as a legacy multipage
# app until some session calls st.navigation, so a first request to /live_monitor after a server
# start would run that page alone, without this script.
PAGES = [  # adding a page is one line
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/new_run.py", title="New run", icon=":material/add_circle:"),
    st.Page("app_pages/live_monitor.py", title="Live monitor", icon=":material/monitoring:"),
    st.Page("app_pages/compare.py", title="Compare methods", icon=":material/leaderboard:"),
    st.Page("app_pages/analysis.py", title="Analysis", icon=":material/analytics:"),
    st.Page("app_pages/report.py", title="Report", icon=":material/summarize:"),
    st.Page("app_pages/learn.py", title="Learn", icon=":material/school:"),
]

page = st.navigation(PAGES)
layout.storage_or_stop()
layout.sidebar()
page.run()
