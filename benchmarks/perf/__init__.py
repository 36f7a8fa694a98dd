"""The performance suite: ``make bench``; see ``conftest.py`` for its options."""
