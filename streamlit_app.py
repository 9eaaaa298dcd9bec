"""Coach: the Streamlit app (Live, Review, History, Teach). Run with ``./run.sh app`` or
``streamlit run streamlit_app.py``. The pages live in :mod:`coach.app_pages`."""
from coach.app_pages import main

main()
