"""The only streamlit-aware part of the package: cached loaders, the sidebar, widgets, error display."""
