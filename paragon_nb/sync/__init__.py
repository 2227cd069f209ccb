"""DataFrame -> Marketo lead sync: mapping, vectorised validation, journal, runner, results."""
