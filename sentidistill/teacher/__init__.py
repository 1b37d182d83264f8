"""The teacher service: a configured teacher resolved once (:mod:`~sentidistill.teacher.resolve`),
chat templating, the row-level content-addressed cache, the Ray Data actor pool that asks the
teacher only for rows the cache lacks (:mod:`~sentidistill.teacher.generate`), label scores
(:mod:`~sentidistill.teacher.scoring`) and flag-based exclusion (:mod:`~sentidistill.teacher.policy`).
It knows no task: tasks plug in through :mod:`~sentidistill.teacher.task`."""
