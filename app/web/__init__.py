"""The Streamlit app: the entry script, its pages (views/) and the helpers they share."""
