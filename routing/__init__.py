"""Travel times, the OR-Tools dispatch model and candidate ranking; the VRPTW benchmark solver
in the ``routing.vrptw`` subpackage, which no module on the production path imports.

Nothing is re-exported: import from the modules. Entry points (see docs/routing.md):

* ``routing.dispatch_model.plan(problem, provider=None, time_limit=None) -> DispatchSolution``
* ``routing.candidates.CandidateState.build(problem)`` then ``candidates(job, state, k)``
* ``routing.runner.solve_in_pool``; ``routing.validator.check_plan``
* ``routing.vrptw.solver.solve_instance_json(path, time_limit)`` for ``dispatch bench vrptw``
"""
