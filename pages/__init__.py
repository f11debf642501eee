"""The explorer's pages, one file each (Streamlit needs this folder); their shared pieces live in ui/."""
