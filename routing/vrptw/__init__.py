"""The VRPTW benchmark solver: Solomon / Gehring-Homberger instances against best-known solutions.

Run by ``bench/routing.py`` and ``dispatch bench vrptw``; nothing on the production path (the
dispatch model in ``routing/`` and ``web/planning/``) imports it. Nothing is re-exported: import
from the modules.

* ``solomon.py``: ``read_solomon`` / ``parse_solomon`` -> ``VrptwInstance``
* ``solver.py``: ``solve(instance, time_limit)`` -> ``VrptwSolution``; ``solve_instance_json``
* ``route_min.py``, ``sisr.py``, ``local_search.py``: route minimization, SISR, ruin and recreate
* ``validator.py``: ``check_vrptw``, the independent check of a solution
"""
