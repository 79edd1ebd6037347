"""Travel times, the OR-Tools dispatch model, candidate ranking and the VRPTW benchmark solver.

Entry points (see docs/routing.md):

* ``routing.dispatch_model.plan(problem, provider=None, time_limit=None) -> Proposal``
* ``routing.candidates.CandidateState.build(problem)`` then ``candidates(job, state, k)``
* ``routing.vrptw.solve_instance_json(path, time_limit)`` for ``dispatch bench vrptw``
* ``routing.validator.check_plan`` / ``check_vrptw``; ``routing.runner.solve_in_pool``
"""
