"""The engine: no Streamlit anywhere in it. Its layers, bottom first (a module imports only its own layer and
those below it; tests/test_architecture.py holds this): storage -> data -> models -> analysis -> experiments -> tools."""
