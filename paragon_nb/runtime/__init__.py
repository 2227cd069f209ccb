"""A local, Paragon-compatible runtime: projects, App Events, workflows, users, runs, REST."""
