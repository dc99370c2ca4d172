"""The outside world behind a narrow interface: GitHub (PyGithub + GitPython) or a local stand-in."""
