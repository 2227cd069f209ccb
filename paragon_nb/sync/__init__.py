"""DataFrame -> Marketo lead sync: mapping, vectorised validation, journal, runner, results.

Importing this package registers the ``df.marketo`` pandas accessor.
"""

from paragon_nb.sync import accessor as _accessor  # noqa: F401  (registers df.marketo)
