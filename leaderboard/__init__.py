"""The leaderboard's store and logic: everything the Space shows, as plain Python.

`service.Leaderboard` is the facade the Space wires to; `intake` takes submissions in, `worker`
runs the lease and the scoring lanes, `board` holds the table logic, `plots` the figures, `store`
the SQLite file, `mirror` the optional Hub copy of results.
"""
